#pragma once
// What of a client session outlives the gateway process (the store keeps it, the core restores it):
// identity and address, timers' settings, topic ids, subscriptions, will, the downlink messages it
// has not acknowledged yet and the QoS 2 message ids it has sent but not released. Deliberately
// absent: anything that changes on every packet (last-seen time, retry counts, deadlines), so a
// keep-alive ping never makes the stored bytes differ and never costs an SD-card write.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "link_address.hpp"
#include "messages.hpp"
#include "session.hpp"

namespace mqttsn {

inline bool operator==(const Will& a, const Will& b) {
  return a.topic == b.topic && a.message == b.message && a.qos == b.qos && a.retain == b.retain;
}

struct SessionSnapshot {
  struct Topic {
    std::uint16_t id = 0;
    std::string name;
    friend bool operator==(const Topic&, const Topic&) = default;
  };
  struct Subscription {
    std::string filter;
    QoS qos = 0;
    TopicIdType kind = TopicIdType::normal;
    friend bool operator==(const Subscription&, const Subscription&) = default;
  };
  struct Message {
    std::uint64_t seq = 0;  // OutboundPublish::seq: which store row holds it
    std::string topic;
    std::vector<std::uint8_t> payload;
    QoS qos = 0;
    bool retain = false;
    friend bool operator==(const Message&, const Message&) = default;
  };

  std::string client_id;
  LinkAddress address;
  bool forwarded = false;
  std::string node_id;  // wireless node id behind a forwarder
  ClientState state = ClientState::disconnected;
  bool clean_session = false;
  std::uint16_t keep_alive_s = 0;
  std::uint16_t sleep_s = 0;
  std::vector<Topic> topics;  // confirmed normal topic ids
  std::vector<Subscription> subscriptions;
  std::optional<Will> will;
  std::vector<Message> downlink;             // in flight first (sent again with DUP), then queued
  std::vector<std::uint16_t> qos2_received;  // client QoS 2 msg ids awaiting PUBREL

  friend bool operator==(const SessionSnapshot&, const SessionSnapshot&) = default;
};

// A compact, versioned binary form. decode() refuses anything it cannot read completely (a record
// written by a newer version, or damaged), so the caller can count and skip it.
// The form leaves `downlink` out: a buffered message is stored once, as a row of its own keyed by its
// seq (SessionSaver), so that a message arriving for a sleeping node never rewrites its session.
// A record of the first version, which held them, decodes with them (seq 0: not stored as rows yet).
std::vector<std::uint8_t> encode_snapshot(const SessionSnapshot& s);
std::optional<SessionSnapshot> decode_snapshot(std::span<const std::uint8_t> bytes);

}  // namespace mqttsn
