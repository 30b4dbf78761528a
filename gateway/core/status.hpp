#pragma once
// Plain snapshots of the core's state for the status socket (gwctl). Copies, not views: the caller
// may serialise them after the core has moved on.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "link_address.hpp"
#include "messages.hpp"
#include "outputs.hpp"
#include "session.hpp"

namespace mqttsn {

struct ClientStatus {
  std::string client_id;
  LinkAddress address;
  bool forwarded = false;
  std::string node_id;  // opaque octets, when forwarded
  ClientState state = ClientState::active;
  std::uint16_t keep_alive_s = 0;
  std::uint16_t sleep_s = 0;
  bool clean_session = true;
  bool kept = false;  // survives a gateway restart (CleanSession=0 or asleep; see persistence.cpp)
  Millis last_seen{0};
  std::optional<Millis> expires;  // a kept session whose node is away: when session_expiry removes it
  std::size_t in_flight = 0;
  std::size_t buffered = 0;
  std::size_t buffered_bytes = 0;    // topic + payload octets of what is buffered and in flight
  std::uint32_t buffer_refused = 0;  // QoS 1/2 messages refused because a buffer bound was reached
  bool buffer_full = false;          // refusing now (until its buffer drains)
  std::uint32_t msgs_up = 0;
  std::uint32_t msgs_down = 0;
  std::size_t subscriptions = 0;
  bool has_will = false;
};

enum class TopicKind : std::uint8_t { normal, predefined, short_name };
const char* to_string(TopicKind k);

struct TopicMappingStatus {
  std::string client_id;  // "*" for global predefined ids
  std::uint16_t topic_id = 0;
  std::string topic;
  TopicKind kind = TopicKind::normal;
  bool confirmed = true;  // false: gateway REGISTER awaiting REGACK
};

struct SubscriptionStatus {
  std::string filter;
  std::size_t clients = 0;  // subscribers holding a grant
  std::size_t waiting = 0;  // SUBSCRIBEs waiting for the broker
  UpstreamSubState upstream = UpstreamSubState::none;
  QoS requested = 0;
  std::optional<QoS> granted;
  std::vector<std::pair<std::string, QoS>> subscribers;  // client id, granted QoS
};
const char* to_string(UpstreamSubState s);

}  // namespace mqttsn
