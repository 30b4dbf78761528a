#pragma once
// Named counters: every drop and every notable event of the core has one, so the status socket can
// explain where a message went. Plain array indexed by an enum: incrementing costs one add.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace mqttsn {

enum class Counter : std::uint8_t {
  datagrams_in,
  datagrams_out,
  malformed,           // decode failed
  unexpected_message,  // valid message that makes no sense here (wrong direction or state)
  unknown_client,      // needs a session and the sender has none (answered with DISCONNECT)
  unknown_topic_id,    // PUBLISH/SUBSCRIBE with an id the client does not have
  invalid_topic,       // wildcard in REGISTER/PUBLISH/will, malformed filter
  denied_connect,
  denied_publish,
  denied_subscribe,
  client_limit,            // CONNECT refused: max_clients
  topic_id_limit,          // registry full
  subscription_limit,      // subscriptions_per_client reached
  uplink_in_flight_limit,  // too many client QoS 1/2 publishes awaiting the broker
  payload_too_large,
  too_large_for_link,         // downlink message over max_downlink_datagram: dropped
  buffer_full,                // downlink message dropped: client's queue full of QoS 1/2
  buffer_dropped_qos0,        // oldest queued QoS 0 dropped to make room
  dropped_offline,            // downlink for a disconnected/lost client, or its queue when it went away
  dropped_register_rejected,  // queued messages whose topic the client refused (REGACK rc != 0)
  retries_exhausted,          // N_RETRY reached: client lost
  keepalive_timeouts,
  sleep_timeouts,
  connect_timeouts,   // will exchange not completed
  delivery_failures,  // radio reported it could not reach a node
  wills_published,
  takeovers,          // client id moved to a new address
  sessions_restored,  // kept sessions recreated from the store at start
  sessions_evicted,   // persistent session dropped to admit a new client
  publishes_up,       // node QoS 0/1/2 PUBLISHes passed upstream (a retry counts again)
  publishes_down,
  qosm1_publishes,
  duplicate_publishes,  // DUP retransmission not published twice
  upstream_congested,   // publish result `congested`: the node was answered "rejected: congestion"
  stale_upstream_ack,   // publish result/suback for something no longer known
  subscribe_refused,    // on_upstream_suback(nullopt)
  register_rejected,    // client answered a GW REGISTER with an error
  stale_client_ack,     // PUBACK/PUBREC/PUBCOMP/REGACK matching nothing in flight
  advertise_sent,
  gwinfo_sent,
  count_
};

const char* to_string(Counter c);

class Counters {
 public:
  void inc(Counter c, std::uint64_t n = 1) { values_[static_cast<std::size_t>(c)] += n; }
  std::uint64_t get(Counter c) const { return values_[static_cast<std::size_t>(c)]; }
  std::vector<std::pair<std::string_view, std::uint64_t>> named() const;

 private:
  std::array<std::uint64_t, static_cast<std::size_t>(Counter::count_)> values_{};
};

}  // namespace mqttsn
