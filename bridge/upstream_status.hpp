#pragma once
// What the bridge reports about the upstream connection (status socket, logs, tests).
#include <cstddef>
#include <cstdint>
#include <string>

#include "gateway/core/counter_set.hpp"

namespace mqttsn::bridge {

enum class UpstreamState : std::uint8_t {
  stopped,     // start() not called yet, or shut down
  connecting,  // first attempt, or retrying after a lost connection
  connected,
  auth_refused,   // CONNACK 4 (bad user name or password) or 5 (not authorised); retried with back-off
  refused,        // CONNACK 1..3 (protocol version, identifier rejected, server unavailable)
  tls_failed,     // TLS handshake or certificate/host-name verification failed
  unreachable,    // TCP connect failed, timed out, or name resolution failed
  disconnecting,  // shutdown() in progress
};

const char* to_string(UpstreamState s);

// The connection's counters, in the order the status socket and the metrics show them (for_each).
// Each is declared once, here (the pattern: gateway/core/counter_set.hpp).
#define MQTTSN_UPSTREAM_COUNTERS(X)                                                                       \
  X(published_qos0) /* handed to Paho, per effective (translated) QoS */                                  \
  X(published_qos1)                                                                                       \
  X(published_qos2)                                                                                       \
  X(acked)                  /* QoS 1/2 delivery completes from the broker */                              \
  X(failed)                 /* permanently failed (reported ok=false) */                                  \
  X(requeued)               /* in flight when the connection failed: sent again */                        \
  X(forgotten_by_client)    /* dropped by the MQTT client at a connection loss, no result: sent again */  \
  X(qos2_not_completed)     /* QoS 2 answered with a PUBACK (no QoS 2 at the broker): taken as QoS 1 */   \
  X(queued_offline)         /* accepted into the queue while disconnected */                              \
  X(dropped_offline)        /* QoS 0/-1 dropped while disconnected */                                     \
  X(congested)              /* refused: queue full */                                                     \
  X(dropped_qos0)           /* QoS 0 dropped while connected: the broker took it more slowly than sent */ \
  X(received)               /* downlink messages delivered to the core */                                 \
  X(dropped_outside_prefix) /* downlink messages outside the mount point */                               \
  X(inbox_written)          /* downlink for kept sessions written before the broker's ack */              \
  X(inbox_failed)           /* ... whose write failed (delivered without that promise) */                 \
  X(acked_by_nodes)         /* ... not written: every node acknowledged it before the broker's ack */     \
  X(connects)               /* successful connections */                                                  \
  X(connect_failures)                                                                                     \
  X(connections_lost)                                                                                     \
  X(subscribe_refused)

struct UpstreamCounters {
  MQTTSN_COUNTER_MEMBERS(MQTTSN_UPSTREAM_COUNTERS);
};
static_assert(lists_every_member<UpstreamCounters>());

struct UpstreamStatus {
  UpstreamState state = UpstreamState::stopped;
  std::string server;      // URI of the connected server (or the last one tried)
  std::string last_error;  // human-readable reason of the last failure
  std::size_t queue_messages = 0;
  std::size_t queue_bytes = 0;
  std::size_t inflight = 0;
  std::size_t qos0_in_client = 0;  // QoS 0 handed to the MQTT client, not yet written to the socket
  std::size_t subscriptions = 0;
  std::size_t kept_filters = 0;  // filters of kept sessions: QoS 1/2 on them is held or written
  UpstreamCounters counters;
};

}  // namespace mqttsn::bridge
