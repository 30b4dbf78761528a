#pragma once
// A link that authenticates its nodes (DTLS): what the daemon asks of it beyond radio/link.hpp,
// without knowing how it is done (the DTLS link lives in a module loaded at run time).
#include <memory>
#include <string>

#include "radio/dtls_options.hpp"
#include "radio/link.hpp"

namespace mqttsn::radio {

class SecureLink : public Link {
 public:
  // The authenticated identity of the node at `address` (PSK identity, or the name its certificate
  // gives); "" when it has no association.
  virtual std::string identity_of(const LinkAddress& address) const = 0;
  // The pre-shared keys for the next handshakes; associations already made stay.
  virtual void set_psk_keys(std::shared_ptr<const PskKeyTable> keys) = 0;

 protected:
  explicit SecureLink(std::uint8_t index) : Link(index) {}
};

}  // namespace mqttsn::radio
