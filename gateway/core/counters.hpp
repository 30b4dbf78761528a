#pragma once
// Named counters: every drop and every notable event of the core has one, so the status socket can
// explain where a message went. Plain array indexed by an enum: incrementing costs one add. Each
// counter is declared once, in MQTTSN_CORE_COUNTERS (the pattern: gateway/core/counter_set.hpp).
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "gateway/core/counter_set.hpp"

// The core's counters, in the order the status socket and the metrics show them.
#define MQTTSN_CORE_COUNTERS(X)                                                                              \
  X(datagrams_in)                                                                                            \
  X(datagrams_out)                                                                                           \
  X(malformed)          /* decode failed */                                                                  \
  X(unexpected_message) /* valid message that makes no sense here (wrong direction or state) */              \
  X(unknown_client)     /* needs a session and the sender has none (answered with DISCONNECT) */             \
  X(unknown_topic_id)   /* PUBLISH/SUBSCRIBE with an id the client does not have */                          \
  X(invalid_topic)      /* wildcard in REGISTER/PUBLISH/will, malformed filter */                            \
  X(denied_connect)                                                                                          \
  X(denied_publish)                                                                                          \
  X(denied_subscribe)                                                                                        \
  X(client_limit)           /* CONNECT refused: max_clients */                                               \
  X(topic_id_limit)         /* registry full */                                                              \
  X(subscription_limit)     /* subscriptions_per_client reached */                                           \
  X(uplink_in_flight_limit) /* too many client QoS 1/2 publishes awaiting the broker */                      \
  X(payload_too_large)                                                                                       \
  X(too_large_for_link)        /* downlink message over max_downlink_datagram: dropped */                    \
  X(buffer_full)               /* downlink message dropped: client's queue full of QoS 1/2 */                \
  X(buffer_dropped_qos0)       /* oldest queued QoS 0 dropped to make room */                                \
  X(dropped_offline)           /* downlink for a disconnected/lost client, or its queue when it went away */ \
  X(dropped_register_rejected) /* queued messages whose topic the client refused (REGACK rc != 0) */         \
  X(retries_exhausted)         /* N_RETRY reached: client lost */                                            \
  X(keepalive_timeouts)                                                                                      \
  X(sleep_timeouts)                                                                                          \
  X(connect_timeouts)  /* will exchange not completed */                                                     \
  X(delivery_failures) /* radio reported it could not reach a node */                                        \
  X(wills_published)                                                                                         \
  X(takeovers)            /* client id moved to a new address */                                             \
  X(sessions_restored)    /* kept sessions recreated from the store at start */                              \
  X(sessions_evicted)     /* persistent session dropped to admit a new client */                             \
  X(sessions_expired)     /* kept session removed: its node stayed away for session_expiry */                \
  X(operator_disconnects) /* nodes disconnected by an operator request */                                    \
  X(dropped_by_operator)  /* buffered downlink messages an operator request cleared */                       \
  X(publishes_up)         /* node QoS 0/1/2 PUBLISHes passed upstream (a retry counts again) */              \
  X(publishes_down)                                                                                          \
  X(qosm1_publishes)                                                                                         \
  X(duplicate_publishes) /* DUP retransmission not published twice */                                        \
  X(upstream_congested)  /* publish result `congested`: the node was answered "rejected: congestion" */      \
  X(stale_upstream_ack)  /* publish result/suback for something no longer known */                           \
  X(subscribe_refused)   /* on_upstream_suback(nullopt) */                                                   \
  X(register_rejected)   /* client answered a GW REGISTER with an error */                                   \
  X(stale_client_ack)    /* PUBACK/PUBREC/PUBCOMP/REGACK matching nothing in flight */                       \
  X(advertise_sent)                                                                                          \
  X(gwinfo_sent)

namespace mqttsn {

enum class Counter : std::uint8_t { MQTTSN_CORE_COUNTERS(MQTTSN_COUNTER_ENUMERATOR) count_ };

class Counters {
 public:
  static constexpr std::array kNames{MQTTSN_CORE_COUNTERS(MQTTSN_COUNTER_NAME)};

  void inc(Counter c, std::uint64_t n = 1) { values_[static_cast<std::size_t>(c)] += n; }
  std::uint64_t get(Counter c) const { return values_[static_cast<std::size_t>(c)]; }
  // f(std::string_view name, std::uint64_t value) for every counter, in list order.
  template <class F>
  void for_each(F&& f) const {
    for (std::size_t i = 0; i < values_.size(); ++i) f(kNames[i], values_[i]);
  }

 private:
  std::array<std::uint64_t, static_cast<std::size_t>(Counter::count_)> values_{};
};
static_assert(Counters::kNames.size() == static_cast<std::size_t>(Counter::count_));
static_assert(names_unique(Counters::kNames));

// The counter's name, as the status socket shows it.
inline const char* to_string(Counter c) {
  const auto i = static_cast<std::size_t>(c);
  return i < Counters::kNames.size() ? Counters::kNames[i].data() : "?";
}

}  // namespace mqttsn
