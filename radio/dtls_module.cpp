#include "radio/dtls_module.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>
#include <system_error>

namespace mqttsn::radio {
namespace {

struct Module {
  void* handle = nullptr;
  DtlsModuleMakeLinkFn make_link = nullptr;
  DtlsModuleCheckFn check = nullptr;
  std::string error;
};

std::filesystem::path executable_dir() {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::path() : exe.parent_path();
}

Module load_module() {
  Module m;
  const auto dir = executable_dir();
  std::string tried;
  for (const auto& candidate :
       {dir / "mqttsn-dtls.so", dir / ".." / "lib" / "mqttsn-gw" / "mqttsn-dtls.so"}) {
    if (!std::filesystem::exists(candidate)) {
      tried += (tried.empty() ? "" : ", ") + candidate.lexically_normal().string();
      continue;
    }
    // The module's own symbols stay its own (nothing else needs them); it finds the daemon's, which
    // it is built against, in the executable (exported for it: gateway/app/module-symbols.list).
    m.handle = dlopen(candidate.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (m.handle == nullptr) {
      m.error = std::string("cannot load the DTLS module: ") + dlerror();
      return m;
    }
    auto interface = reinterpret_cast<DtlsModuleInterfaceFn>(dlsym(m.handle, "mqttsn_dtls_interface"));
    m.make_link = reinterpret_cast<DtlsModuleMakeLinkFn>(dlsym(m.handle, "mqttsn_dtls_make_link"));
    m.check = reinterpret_cast<DtlsModuleCheckFn>(dlsym(m.handle, "mqttsn_dtls_check"));
    if (interface == nullptr || m.make_link == nullptr || m.check == nullptr ||
        interface(sizeof(DtlsLinkOptions), sizeof(LinkCallbacks)) != kDtlsModuleInterface) {
      m.error = "the DTLS module " + candidate.string() + " is from another build of mqttsn-gw";
      m.make_link = nullptr;
      m.check = nullptr;
    }
    return m;
  }
  m.error = "the DTLS module is not installed (looked for " + tried + ")";
  return m;
}

const Module& module() {
  static std::once_flag once;
  static Module m;
  std::call_once(once, [] { m = load_module(); });
  return m;
}

}  // namespace

std::unique_ptr<SecureLink> make_dtls_link(std::uint8_t index, DtlsLinkOptions options,
                                           LinkCallbacks callbacks, std::string& error) {
  const Module& m = module();
  if (m.make_link == nullptr) {
    error = m.error;
    return nullptr;
  }
  return std::unique_ptr<SecureLink>(m.make_link(index, &options, &callbacks));
}

std::string check_dtls_credentials(const DtlsLinkOptions& options) {
  const Module& m = module();
  if (m.check == nullptr) return m.error;
  std::string error;
  m.check(&options, &error);
  return error;
}

}  // namespace mqttsn::radio
