#pragma once
// The narrow boundary between the I/O-free core and the world. The core calls Outputs; the app
// implements it (radio links + the upstream bridge) and the tests fake it. Time is passed in as
// Millis on a monotonic clock with an arbitrary epoch; the core never reads a clock itself.
#include <chrono>
#include <cstdint>
#include <string_view>

#include "link_address.hpp"
#include "messages.hpp"

namespace mqttsn {

using Millis = std::chrono::milliseconds;
using UpstreamToken = std::uint64_t;

// A link index meaning "every link that can broadcast" (ADVERTISE).
inline constexpr std::uint8_t kAllLinks = 0xFF;

// What the upstream side did with a publish (see the bridge): the core acknowledges a QoS 1/2
// PUBLISH to its node only on `accepted` now, or on a later on_upstream_ack(token, true).
enum class UpstreamAccept : std::uint8_t {
  pending,    // in flight to the broker: on_upstream_ack(token, ...) follows
  accepted,   // durable/queued already (e.g. offline queue): acknowledge the node now
  congested,  // queue full: answer the node "rejected: congestion", nothing kept
  dropped,    // QoS 0 while offline and not queued: counted by the bridge
};

struct PublishOutcome {
  UpstreamAccept result = UpstreamAccept::pending;
  UpstreamToken token = 0;
};

class Outputs {
 public:
  virtual ~Outputs() = default;
  // To nodes.
  virtual void send(const LinkAddress& to, Bytes datagram) = 0;
  virtual void broadcast(std::uint8_t link, Bytes datagram, std::uint8_t radius) = 0;
  // To the broker. `qos` is the MQTT-SN QoS (-1..2); the bridge translates it.
  virtual PublishOutcome publish(std::string_view topic, Bytes payload, QoS qos, bool retain) = 0;
  // One call per distinct filter when its first subscriber arrives / its last leaves (the core keeps
  // the reference counts). The result comes back through the core's on_upstream_suback().
  virtual void subscribe(std::string_view filter, QoS qos) = 0;
  virtual void unsubscribe(std::string_view filter) = 0;
};

// Who may do what. The daemon supplies the real one (admission list + mosquitto-style ACL).
// `client_id` is empty for QoS -1 publishes from nodes that never connected.
class AccessPolicy {
 public:
  virtual ~AccessPolicy() = default;
  virtual bool may_connect(std::string_view client_id, const LinkAddress& from) const = 0;
  virtual bool may_publish(std::string_view client_id, std::string_view topic) const = 0;
  virtual bool may_subscribe(std::string_view client_id, std::string_view filter) const = 0;
};

// Allows everything: the default when no access configuration is given.
class AllowAll final : public AccessPolicy {
 public:
  bool may_connect(std::string_view, const LinkAddress&) const override { return true; }
  bool may_publish(std::string_view, std::string_view) const override { return true; }
  bool may_subscribe(std::string_view, std::string_view) const override { return true; }
};

}  // namespace mqttsn
