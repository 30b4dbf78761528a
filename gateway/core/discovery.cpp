// Gateway discovery (spec 4.2): ADVERTISE every T_ADV on every link that can broadcast (only while
// the broker connection is up, by default), GWINFO by broadcast with the SEARCHGW's radius.
#include "codec.hpp"
#include "gateway.hpp"

namespace mqttsn {

bool Gateway::discoverable() const {
  return upstream_connected_ || !options_.advertise_only_when_upstream_connected;
}

void Gateway::handle_searchgw(const PeerRef& peer, const SearchGw& m) {
  if (!discoverable()) return;
  counters_.inc(Counter::gwinfo_sent);
  GwInfo info{options_.gw_id, {}};
  if (peer.forwarded) {
    // Through a forwarder: unicast to it, encapsulated, with the radius in Ctrl (spec 4.12).
    send(peer, info, static_cast<std::uint8_t>(m.radius & 0x03));
    return;
  }
  std::uint8_t buf[8];
  EncodeResult r = encode(info, buf);
  if (!r) return;
  counters_.inc(Counter::datagrams_out);
  out_.broadcast(peer.address->link, Bytes(buf, r.size), m.radius);
}

void Gateway::send_advertise(Millis now) {
  advertise_due_.reset();
  if (options_.advertise_period_s == 0 || !discoverable()) return;
  std::uint8_t buf[8];
  EncodeResult r = encode(Advertise{options_.gw_id, options_.advertise_period_s}, buf);
  if (r) {
    counters_.inc(Counter::advertise_sent);
    counters_.inc(Counter::datagrams_out);
    out_.broadcast(kAllLinks, Bytes(buf, r.size), 0);
  }
  advertise_due_ = now + Millis{static_cast<std::int64_t>(options_.advertise_period_s) * 1000};
}

void Gateway::on_upstream_state(bool connected, Millis now) {
  bool was = upstream_connected_;
  upstream_connected_ = connected;
  // Sessions do not depend on the broker: nodes stay connected while it is away.
  if (connected && !was) {
    if (options_.advertise_period_s > 0) send_advertise(now);  // announce at once, then every T_ADV
  } else if (!connected && options_.advertise_only_when_upstream_connected) {
    advertise_due_.reset();
  }
}

}  // namespace mqttsn
