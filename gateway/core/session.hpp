#pragma once
// One client's state inside the gateway. Kept small (the memory target is 1 KiB per idle client):
// what only some clients need (a will, queued/in-flight downlink messages) lives behind a pointer
// allocated on demand and freed when empty.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "link_address.hpp"
#include "messages.hpp"
#include "outputs.hpp"
#include "presence.hpp"
#include "subscription_tree.hpp"
#include "topic_registry.hpp"
#include "topic_table.hpp"

namespace mqttsn {

enum class ClientState : std::uint8_t {
  connecting,  // CONNECT received, will exchange in progress
  active,
  asleep,
  awake,
  lost,          // keep-alive/sleep timer expired or retries exhausted; kept for CleanSession=0
  disconnected,  // DISCONNECT without duration; kept for CleanSession=0
};
const char* to_string(ClientState s);

// Where a client is: a direct link address, or a wireless node id behind a forwarder (spec 4.12),
// in which case `address` is the forwarder's and every reply is wrapped in 0xFE with `node_id`.
struct PeerKey {
  LinkAddress address;
  bool forwarded = false;
  std::string node_id;  // opaque octets
};

// A non-owning view of a peer, used for lookups without building a PeerKey (no allocation).
struct PeerRef {
  const LinkAddress* address = nullptr;
  bool forwarded = false;
  std::string_view node_id;

  static PeerRef of(const PeerKey& k) { return {&k.address, k.forwarded, k.node_id}; }
  friend bool operator==(const PeerRef& a, const PeerRef& b) {
    return a.forwarded == b.forwarded && *a.address == *b.address && a.node_id == b.node_id;
  }
};

struct PeerRefHash {
  std::size_t operator()(const PeerRef& p) const noexcept {
    std::size_t h = LinkAddressHash{}(*p.address);
    if (p.forwarded) h ^= std::hash<std::string_view>{}(p.node_id) * 31u + 1u;
    return h;
  }
};

struct Will {
  std::string topic;
  std::vector<std::uint8_t> message;
  QoS qos = 0;
  bool retain = false;
};

// Payload of a downlink message, shared by every subscriber it goes to.
using SharedPayload = std::shared_ptr<const std::vector<std::uint8_t>>;

struct OutboundPublish {
  TopicRef topic;
  SharedPayload payload;
  QoS qos = 0;
  bool retain = false;
  // Its identity in the store while its session is kept (one row each, written once): increasing in
  // arrival order across all sessions and restarts. 0: not given yet.
  std::uint64_t seq = 0;
  // Set once sent (QoS 1/2 only stay after sending):
  std::uint16_t msg_id = 0;
  std::uint16_t topic_id = 0;
  TopicIdType topic_id_type = TopicIdType::normal;
  bool released = false;  // QoS 2: PUBREC received, PUBREL sent, waiting for PUBCOMP
  std::uint8_t retries = 0;
  Millis deadline{0};
};

struct OutboundRegister {
  TopicRef topic;
  std::uint16_t topic_id = 0;
  std::uint16_t msg_id = 0;
  std::uint8_t retries = 0;
  Millis deadline{0};
};

// Octets a downlink message holds in a buffer (and in its store row): topic and payload. A released
// QoS 2 message (PUBREC received) holds none: its payload is gone.
inline std::size_t held_bytes(const OutboundPublish& m) {
  return m.payload ? m.topic.view().size() + m.payload->size() : 0;
}

// Downlink state: messages not yet sent (buffered while asleep or waiting for a REGACK / a free
// in-flight slot) and what is in flight. `bytes` counts held_bytes() of both lists, and so does the
// gateway-wide total it was made with: every change to a message's payload or to the two lists goes
// through hold()/let_go(), and the destructor gives back what is left, so the total bound
// (sleep_buffer_bytes_total) is checked in O(1).
struct Outbox {
  explicit Outbox(std::size_t& gateway_total) : total(&gateway_total) {}
  ~Outbox() { *total -= bytes; }
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  std::vector<OutboundPublish> queue;
  std::vector<OutboundPublish> in_flight;
  std::vector<OutboundRegister> registering;
  std::size_t bytes = 0;

  bool empty() const { return queue.empty() && in_flight.empty() && registering.empty(); }
  void hold(const OutboundPublish& m) {
    bytes += held_bytes(m);
    *total += held_bytes(m);
  }
  void let_go(const OutboundPublish& m) {
    bytes -= held_bytes(m);
    *total -= held_bytes(m);
  }

 private:
  std::size_t* total;
};

// A client QoS 1/2 PUBLISH the gateway has not finished with: QoS 1 waiting for the upstream's
// result; QoS 2 from receipt until PUBREL (dedupe of DUP retransmissions by msg id).
struct InboundPublish {
  std::uint16_t msg_id = 0;
  std::uint16_t topic_id = 0;
  QoS qos = 1;
  bool upstream_done = false;  // result delivered/kept arrived (QoS 2: PUBREC sent)
  PublishId id = 0;            // what the result names it by (0: restored from a snapshot)
};

struct SessionSubscription {
  SubscriptionTree::Node* filter = nullptr;
  QoS qos = 0;
  TopicIdType kind = TopicIdType::normal;  // how the client named it
};

// await_upstream: a per-node gateway waits for the broker's answer on the node's own connection.
enum class ConnectStage : std::uint8_t { none, await_will_topic, await_will_msg, await_upstream };
// A will update on a node's own connection waits for the connection made again with the new will.
enum class WillUpdate : std::uint8_t { none, topic, message };

struct Session {
  std::uint32_t slot = 0;
  std::uint32_t serial = 0;  // unique per session ever created: detects reused slots
  ClientState state = ClientState::connecting;
  ConnectStage stage = ConnectStage::none;
  bool clean_session = true;
  bool per_node = false;       // its own broker connection: a per-node gateway, or marked per_node (mixed)
  bool upstream_open = false;  // its own connection was asked for and not closed
  WillUpdate will_update = WillUpdate::none;  // its WILLTOPICRESP/WILLMSGRESP waits for that connection
  bool change_noted = false;           // already in Gateway::changed_ since the last take_changed_sessions()
  std::uint8_t delivery_failures = 0;  // consecutive, reset by any datagram from the client
  std::uint8_t pending_subscribes = 0;
  std::uint16_t keep_alive_s = 0;
  std::uint16_t sleep_s = 0;
  std::uint16_t next_msg_id = 1;
  std::string client_id;
  PeerKey peer;
  Millis last_seen{0};
  Millis away_since{0};             // when it turned lost or disconnected: session_expiry counts from here
  std::optional<Millis> scheduled;  // its deadline, set only by Gateway::deadlines_ (DeadlineScheduler)
  std::uint32_t msgs_up = 0;
  std::uint32_t msgs_down = 0;
  // QoS 1/2 downlink messages refused because a buffer bound was reached (since the session began),
  // and whether such an episode is going on (logged once at its start and once at its end).
  std::uint32_t buffer_refused = 0;
  bool buffer_full = false;
  Presence told = Presence::none;  // the presence last told to the PresenceObserver
  TopicRegistry registry;
  std::vector<SessionSubscription> subscriptions;
  std::vector<InboundPublish> inbound;
  std::vector<TopicRef> rejected_topics;  // GW REGISTERs the client refused: treated as unsubscribed
  std::unique_ptr<Will> will;
  std::unique_ptr<Outbox> outbox;

  bool connected() const {
    return state == ClientState::active || state == ClientState::asleep || state == ClientState::awake;
  }
  std::size_t in_flight() const { return outbox ? outbox->in_flight.size() + outbox->registering.size() : 0; }
  std::size_t buffered() const { return outbox ? outbox->queue.size() : 0; }
  std::uint16_t take_msg_id() {
    std::uint16_t id = next_msg_id;
    next_msg_id = static_cast<std::uint16_t>(next_msg_id + 1);
    if (next_msg_id == 0) next_msg_id = 1;
    return id;
  }
};

}  // namespace mqttsn
