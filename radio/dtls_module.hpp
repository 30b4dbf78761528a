#pragma once
// The DTLS link, loaded at run time. OpenSSL's libssl and libcrypto cost every process that links
// them about 2 MB of resident memory at start (relocations and their data, touched by the loader),
// a DTLS link or not; most gateways have none. So the daemon does not link them: the DTLS link is a
// module of its own (mqttsn-dtls.so, linked with OpenSSL) that is loaded the first time a DTLS link
// is made or checked, and stays loaded for the life of the process.
//
// The module is looked for beside the executable (the build tree), then in ../lib/mqttsn-gw
// relative to it (an installed /usr/bin/mqttsn-gw finds /usr/lib/mqttsn-gw/mqttsn-dtls.so). It is
// built with the daemon and must come from the same build: an interface version and the options'
// size are compared before it is used.
#include <memory>
#include <string>

#include "radio/dtls_options.hpp"
#include "radio/secure_link.hpp"

namespace mqttsn::radio {

// nullptr with `error` set when the module cannot be loaded.
std::unique_ptr<SecureLink> make_dtls_link(std::uint8_t index, DtlsLinkOptions options,
                                           LinkCallbacks callbacks, std::string& error);

// Whether `options` would start (see DtlsLink::check_credentials): "" when they would.
std::string check_dtls_credentials(const DtlsLinkOptions& options);

// The entry points the module exports (radio/dtls_module_entry.cpp), C names so dlsym finds them.
inline constexpr int kDtlsModuleInterface = 1;
extern "C" {
using DtlsModuleInterfaceFn = int (*)(std::size_t options_size, std::size_t callbacks_size);
using DtlsModuleMakeLinkFn = SecureLink* (*)(std::uint8_t index, DtlsLinkOptions* options,
                                             LinkCallbacks* callbacks);
using DtlsModuleCheckFn = void (*)(const DtlsLinkOptions* options, std::string* error);
}

}  // namespace mqttsn::radio
