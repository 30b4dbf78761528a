#include "counters.hpp"

namespace mqttsn {

const char* to_string(Counter c) {
  switch (c) {
    case Counter::datagrams_in:
      return "datagrams_in";
    case Counter::datagrams_out:
      return "datagrams_out";
    case Counter::malformed:
      return "malformed";
    case Counter::unexpected_message:
      return "unexpected_message";
    case Counter::unknown_client:
      return "unknown_client";
    case Counter::unknown_topic_id:
      return "unknown_topic_id";
    case Counter::invalid_topic:
      return "invalid_topic";
    case Counter::denied_connect:
      return "denied_connect";
    case Counter::denied_publish:
      return "denied_publish";
    case Counter::denied_subscribe:
      return "denied_subscribe";
    case Counter::client_limit:
      return "client_limit";
    case Counter::topic_id_limit:
      return "topic_id_limit";
    case Counter::subscription_limit:
      return "subscription_limit";
    case Counter::uplink_in_flight_limit:
      return "uplink_in_flight_limit";
    case Counter::payload_too_large:
      return "payload_too_large";
    case Counter::too_large_for_link:
      return "too_large_for_link";
    case Counter::buffer_full:
      return "buffer_full";
    case Counter::buffer_dropped_qos0:
      return "buffer_dropped_qos0";
    case Counter::dropped_offline:
      return "dropped_offline";
    case Counter::dropped_register_rejected:
      return "dropped_register_rejected";
    case Counter::retries_exhausted:
      return "retries_exhausted";
    case Counter::keepalive_timeouts:
      return "keepalive_timeouts";
    case Counter::sleep_timeouts:
      return "sleep_timeouts";
    case Counter::connect_timeouts:
      return "connect_timeouts";
    case Counter::delivery_failures:
      return "delivery_failures";
    case Counter::wills_published:
      return "wills_published";
    case Counter::takeovers:
      return "takeovers";
    case Counter::sessions_restored:
      return "sessions_restored";
    case Counter::sessions_evicted:
      return "sessions_evicted";
    case Counter::publishes_up:
      return "publishes_up";
    case Counter::publishes_down:
      return "publishes_down";
    case Counter::qosm1_publishes:
      return "qosm1_publishes";
    case Counter::duplicate_publishes:
      return "duplicate_publishes";
    case Counter::upstream_congested:
      return "upstream_congested";
    case Counter::stale_upstream_ack:
      return "stale_upstream_ack";
    case Counter::subscribe_refused:
      return "subscribe_refused";
    case Counter::register_rejected:
      return "register_rejected";
    case Counter::stale_client_ack:
      return "stale_client_ack";
    case Counter::advertise_sent:
      return "advertise_sent";
    case Counter::gwinfo_sent:
      return "gwinfo_sent";
    case Counter::count_:
      break;
  }
  return "?";
}

std::vector<std::pair<std::string_view, std::uint64_t>> Counters::named() const {
  std::vector<std::pair<std::string_view, std::uint64_t>> out;
  out.reserve(values_.size());
  for (std::size_t i = 0; i < values_.size(); ++i)
    out.emplace_back(to_string(static_cast<Counter>(i)), values_[i]);
  return out;
}

}  // namespace mqttsn
