// Forwarder encapsulation (spec 4.12): the inner message is handled as coming from the wireless
// node (forwarder address, node id); replies are wrapped again by Gateway::send.
#include "codec.hpp"
#include "gateway.hpp"

namespace mqttsn {

void Gateway::handle_encapsulated(const LinkAddress& from, const Encapsulated& e, Millis now) {
  DecodeResult inner = decode(e.inner);
  if (!inner) {
    counters_.inc(Counter::malformed);
    return;
  }
  // The codec rejects nested encapsulation; a forwarder never sends gateway-only messages inward.
  PeerRef peer{&from, true,
               std::string_view(reinterpret_cast<const char*>(e.node_id.data()), e.node_id.size())};
  dispatch(peer, inner.message(), now);
}

}  // namespace mqttsn
