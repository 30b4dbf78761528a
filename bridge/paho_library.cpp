#include "bridge/paho_library.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace mqttsn::bridge::paho {

namespace {

constexpr const char* plain_soname = "libpaho-mqtt3a.so.1";
constexpr const char* tls_soname = "libpaho-mqtt3as.so.1";

std::mutex load_mutex;
Api the_api;
std::atomic<const Api*> current{nullptr};

template <typename F>
bool resolve(void* handle, const char* soname, const char* name, F& out, std::string& error) {
  out = reinterpret_cast<F>(::dlsym(handle, name));
  if (out == nullptr && error.empty())
    error = std::string(soname) + " has no " + name + " (not a Paho MQTTAsync 1.3 library?)";
  return out != nullptr;
}

// Fills the_api from `handle`; the handle is never closed.
std::string bind(void* handle, const char* soname, Flavour flavour) {
  Api a;
  a.flavour = flavour;
  a.soname = soname;
  std::string e;
  resolve(handle, soname, "MQTTAsync_global_init", a.global_init, e);
  resolve(handle, soname, "MQTTAsync_createWithOptions", a.createWithOptions, e);
  resolve(handle, soname, "MQTTAsync_setCallbacks", a.setCallbacks, e);
  resolve(handle, soname, "MQTTAsync_connect", a.connect, e);
  resolve(handle, soname, "MQTTAsync_disconnect", a.disconnect, e);
  resolve(handle, soname, "MQTTAsync_destroy", a.destroy, e);
  resolve(handle, soname, "MQTTAsync_sendMessage", a.sendMessage, e);
  resolve(handle, soname, "MQTTAsync_subscribe", a.subscribe, e);
  resolve(handle, soname, "MQTTAsync_unsubscribe", a.unsubscribe, e);
  resolve(handle, soname, "MQTTAsync_freeMessage", a.freeMessage, e);
  resolve(handle, soname, "MQTTAsync_free", a.free, e);
  resolve(handle, soname, "MQTTAsync_getPendingTokens", a.getPendingTokens, e);
  resolve(handle, soname, "MQTTAsync_isComplete", a.isComplete, e);
  resolve(handle, soname, "MQTTAsync_getVersionInfo", a.getVersionInfo, e);
  if (e.empty()) {
    the_api = a;
    current.store(&the_api, std::memory_order_release);
  }
  return e;
}

std::string restart_needed() {
  return std::string("TLS needs ") + tls_soname + " but this process runs with " + plain_soname +
         " (chosen at start, when no server used TLS): restart the gateway";
}

}  // namespace

bool is_tls_uri(const std::string& uri) {
  return uri.starts_with("ssl://") || uri.starts_with("mqtts://") || uri.starts_with("wss://");
}

bool needs_tls(const BridgeOptions& options) {
  const auto& t = options.tls;
  return std::any_of(options.servers.begin(), options.servers.end(), is_tls_uri) || !t.ca_file.empty() ||
         !t.ca_dir.empty() || !t.cert_file.empty();
}

Loaded load(Flavour wanted) {
  const std::lock_guard lock(load_mutex);
  if (const Api* a = current.load(std::memory_order_acquire)) {
    if (wanted == Flavour::tls && a->flavour == Flavour::plain) return {nullptr, restart_needed()};
    return {a, {}};
  }
  // Already in the process (linked by the program): loading the other one would put two copies of
  // every MQTTAsync symbol, and two sets of Paho's global state, in one process.
  if (void* h = ::dlopen(tls_soname, RTLD_NOW | RTLD_NOLOAD)) {
    auto e = bind(h, tls_soname, Flavour::tls);
    return e.empty() ? Loaded{current.load(), {}} : Loaded{nullptr, e};
  }
  if (void* h = ::dlopen(plain_soname, RTLD_NOW | RTLD_NOLOAD)) {
    if (wanted == Flavour::tls) return {nullptr, restart_needed()};
    auto e = bind(h, plain_soname, Flavour::plain);
    return e.empty() ? Loaded{current.load(), {}} : Loaded{nullptr, e};
  }
  const char* soname = wanted == Flavour::tls ? tls_soname : plain_soname;
  // RTLD_LOCAL: Paho's symbols stay out of the global scope, reached only through the pointers.
  void* h = ::dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (h == nullptr) {
    const char* why = ::dlerror();
    return {nullptr, std::string("cannot load ") + soname +
                         " (package libpaho-mqtt1.3): " + (why != nullptr ? why : "unknown error")};
  }
  auto e = bind(h, soname, wanted);
  return e.empty() ? Loaded{current.load(), {}} : Loaded{nullptr, e};
}

const Api& api() {
  if (const Api* a = current.load(std::memory_order_acquire)) return *a;
  auto l = load(Flavour::plain);
  if (l.api == nullptr) {
    std::fprintf(stderr, "mqttsn-gw: %s\n", l.error.c_str());
    std::abort();
  }
  return *l.api;
}

const Api* loaded() {
  return current.load(std::memory_order_acquire);
}

}  // namespace mqttsn::bridge::paho
