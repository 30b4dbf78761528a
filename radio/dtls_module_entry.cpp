// The entry points of mqttsn-dtls.so (see radio/dtls_module.hpp): the only code of the module that
// the daemon calls by name. Everything else goes through SecureLink's virtual functions.
#include "radio/dtls_link.hpp"
#include "radio/dtls_module.hpp"

using namespace mqttsn::radio;

extern "C" {

// The interface version, or 0 when this module was built with other types than the caller's.
__attribute__((visibility("default"))) int mqttsn_dtls_interface(std::size_t options_size,
                                                                 std::size_t callbacks_size) {
  if (options_size != sizeof(DtlsLinkOptions) || callbacks_size != sizeof(LinkCallbacks)) return 0;
  return kDtlsModuleInterface;
}

__attribute__((visibility("default"))) SecureLink* mqttsn_dtls_make_link(std::uint8_t index,
                                                                         DtlsLinkOptions* options,
                                                                         LinkCallbacks* callbacks) {
  return new DtlsLink(index, std::move(*options), std::move(*callbacks));
}

__attribute__((visibility("default"))) void mqttsn_dtls_check(const DtlsLinkOptions* options,
                                                              std::string* error) {
  *error = DtlsLink::check_credentials(*options);
}
}
