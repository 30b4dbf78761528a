#pragma once
// The narrow boundary between the I/O-free core and the world. The core calls Outputs; the app
// implements it (radio links + the upstream bridge) and the tests fake it. Time is passed in as
// Millis on a monotonic clock with an arbitrary epoch; the core never reads a clock itself.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "link_address.hpp"
#include "messages.hpp"

namespace mqttsn {

struct Will;  // session.hpp

using Millis = std::chrono::milliseconds;
// The core's name for an upstream publish whose outcome it wants (QoS 1/2 from a node). 0 names a
// publish whose outcome nobody waits for (QoS 0/-1, wills): no result comes back for it.
using PublishId = std::uint64_t;

// A link index meaning "every link that can broadcast" (ADVERTISE).
inline constexpr std::uint8_t kAllLinks = 0xFF;

// The outcome of an upstream publish, told later through Gateway::on_publish_result() (never during
// the publish() call: the core is not re-entrant). The core acknowledges a QoS 1/2 PUBLISH to its node
// on `delivered` or `kept`, and answers "rejected: congestion" on `congested`.
enum class PublishResult : std::uint8_t {
  delivered,  // the broker acknowledged it
  kept,       // not at the broker yet, but kept until it is (committed to the store, or queued)
  congested,  // not taken and not kept: the node's retry is the only copy
};

const char* to_string(PublishResult r);

// What became of a message from the broker once the core took it. `held` lives as long as any
// session still holds the message (queued, or sent and not acknowledged): when it has expired,
// every node it reached has acknowledged it (or it was dropped), and nothing of it is left to keep.
// `waits_for_absent`: a session that is away or asleep queued it, so it stays held until that node
// returns. The upstream connection uses both to decide whether a message must be written to disk
// before the broker is told it arrived.
struct DownlinkReceipt {
  std::weak_ptr<const void> held;
  bool waits_for_absent = false;
  bool settled() const { return held.expired(); }
};

class Outputs {
 public:
  virtual ~Outputs() = default;
  // To nodes.
  virtual void send(const LinkAddress& to, Bytes datagram) = 0;
  virtual void broadcast(std::uint8_t link, Bytes datagram, std::uint8_t radius) = 0;
  // To the broker. `qos` is the MQTT-SN QoS (-1..2); the upstream translates it. `client_id` names the
  // node it comes from (empty for QoS -1 from a node without a session). With id != 0 exactly one
  // on_publish_result(id, ...) follows, on a later call.
  virtual void publish(PublishId id, std::string_view client_id, std::string_view topic, Bytes payload,
                       QoS qos, bool retain) = 0;
  // One call per distinct filter when its first subscriber arrives / its last leaves (the core keeps
  // the reference counts). The result comes back through the core's on_upstream_suback().
  virtual void subscribe(std::string_view filter, QoS qos) = 0;
  virtual void unsubscribe(std::string_view filter) = 0;

  // A connection per node (GatewayOptions::upstream_per_node, the transparent gateway). The core asks
  // for a node's own connection once its CONNECT (and will) is complete, and sends the node's CONNACK
  // only when Gateway::on_node_connack() answers. The node's publishes (its will included) still come
  // through publish(), named by client id; its subscriptions come through node_subscribe(), one per
  // filter of that node, answered by Gateway::on_node_suback(). node_close() follows a DISCONNECT, a
  // lost node (after its will went through publish()) and the end of its session. A node that
  // CONNECTs again gets node_connect() again: the upstream keeps a connection made with the same
  // settings (a node retrying its CONNECT while the broker answers) and replaces one that differs. The shared
  // connection has none of these: they do nothing by default.
  struct NodeConnect {
    std::string_view client_id;
    bool clean_session = true;
    std::uint16_t keep_alive_s = 0;
    const Will* will = nullptr;  // nullptr: none
    // WILLTOPICUPD/WILLMSGUPD: the node's connection is made again with the new will and takes the
    // node's subscriptions along; Gateway::on_node_connack() answers as for a CONNECT.
    bool will_update = false;
  };
  virtual void node_connect(const NodeConnect&) {}
  virtual void node_subscribe(std::string_view /*client_id*/, std::string_view /*filter*/, QoS /*qos*/) {}
  virtual void node_unsubscribe(std::string_view /*client_id*/, std::string_view /*filter*/) {}
  virtual void node_close(std::string_view /*client_id*/) {}
};

// Where a CONNECT came from: the link address, and for a node behind a forwarder (spec 4.12) the
// wireless node id the forwarder names it by (the address is then the forwarder's).
struct ConnectOrigin {
  ConnectOrigin(const LinkAddress& a, std::optional<std::string_view> node = std::nullopt)
      : address(a), forwarded_node_id(node) {}
  const LinkAddress& address;
  std::optional<std::string_view> forwarded_node_id;
};

// Who may do what. The daemon supplies the real one (admission list + mosquitto-style ACL).
// `client_id` is empty for QoS -1 publishes from nodes that never connected.
class AccessPolicy {
 public:
  virtual ~AccessPolicy() = default;
  virtual bool may_connect(std::string_view client_id, const ConnectOrigin& from) const = 0;
  virtual bool may_publish(std::string_view client_id, std::string_view topic) const = 0;
  virtual bool may_subscribe(std::string_view client_id, std::string_view filter) const = 0;
  // Mixed mode: this node gets its own broker connection in a shared gateway (read when its session
  // is made, or made clean).
  virtual bool upstream_per_node(std::string_view /*client_id*/) const { return false; }
};

// Allows everything: the default when no access configuration is given.
class AllowAll final : public AccessPolicy {
 public:
  bool may_connect(std::string_view, const ConnectOrigin&) const override { return true; }
  bool may_publish(std::string_view, std::string_view) const override { return true; }
  bool may_subscribe(std::string_view, std::string_view) const override { return true; }
};

}  // namespace mqttsn
