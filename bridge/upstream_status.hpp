#pragma once
// What the bridge reports about the upstream connection (status socket, logs, tests).
#include <cstddef>
#include <cstdint>
#include <string>

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

struct UpstreamCounters {
  std::uint64_t published_qos0 = 0;  // handed to Paho, per effective (translated) QoS
  std::uint64_t published_qos1 = 0;
  std::uint64_t published_qos2 = 0;
  std::uint64_t acked = 0;                   // QoS 1/2 delivery completes from the broker
  std::uint64_t failed = 0;                  // permanently failed (reported ok=false)
  std::uint64_t requeued = 0;                // in flight when the connection failed: sent again
  std::uint64_t queued_offline = 0;          // accepted into the queue while disconnected
  std::uint64_t dropped_offline = 0;         // QoS 0/-1 dropped while disconnected
  std::uint64_t congested = 0;               // refused: queue full
  std::uint64_t received = 0;                // downlink messages delivered to the core
  std::uint64_t dropped_outside_prefix = 0;  // downlink messages outside the mount point
  std::uint64_t inbox_written = 0;           // downlink for kept sessions written before the broker's ack
  std::uint64_t inbox_failed = 0;            // ... whose write failed (delivered without that promise)
  std::uint64_t acked_by_nodes = 0;  // ... not written: every node acknowledged it before the broker's ack
  std::uint64_t connects = 0;        // successful connections
  std::uint64_t connect_failures = 0;
  std::uint64_t connections_lost = 0;
  std::uint64_t subscribe_refused = 0;
};

struct UpstreamStatus {
  UpstreamState state = UpstreamState::stopped;
  std::string server;      // URI of the connected server (or the last one tried)
  std::string last_error;  // human-readable reason of the last failure
  std::size_t queue_messages = 0;
  std::size_t queue_bytes = 0;
  std::size_t inflight = 0;
  std::size_t subscriptions = 0;
  std::size_t kept_filters = 0;  // filters of kept sessions: QoS 1/2 on them is held or written
  UpstreamCounters counters;
};

}  // namespace mqttsn::bridge
