#pragma once
// A node's presence as people outside the gateway see it (the broker-side availability topics):
// coarser than ClientState, and told only when it changes.
#include <cstdint>
#include <optional>
#include <string_view>

#include "link_address.hpp"

namespace mqttsn {

enum class ClientState : std::uint8_t;

enum class Presence : std::uint8_t {
  none,     // not told yet (a session mid-CONNECT)
  online,   // connected and awake
  asleep,   // a sleeping node, including its short wakes to fetch what was buffered
  offline,  // it said DISCONNECT (or an operator disconnected it)
  lost,     // its keep-alive or sleep timer ran out, the radio gave up on it, or another took its address
  removed,  // its kept session is gone: expired after session_expiry, or evicted to admit a new node
};
const char* to_string(Presence p);

// nullopt for a state that says nothing new (a CONNECT under way keeps what was told before).
std::optional<Presence> presence_of(ClientState s);

// Where the node is, for observers that keep state per address (a DTLS link keeps a node's
// association while it has a session): its link address, or its forwarder's when `forwarded`.
struct PresencePlace {
  const LinkAddress& address;
  bool forwarded = false;
};

// Told by the core, inside its own calls, whenever a node's presence changes. Must not call back
// into the Gateway (the core is not re-entrant).
class PresenceObserver {
 public:
  virtual ~PresenceObserver() = default;
  virtual void on_presence(std::string_view client_id, PresencePlace where, Presence p) = 0;
};

}  // namespace mqttsn
