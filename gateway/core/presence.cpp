// Presence: what the broker-side availability topics say of a node. Every change of a session's
// state goes through set_state(), and removing a session through destroy_session(), so the observer
// hears of each change exactly once, whichever flow made it.
#include "gateway.hpp"

namespace mqttsn {

const char* to_string(Presence p) {
  switch (p) {
    case Presence::none:
      return "none";
    case Presence::online:
      return "online";
    case Presence::asleep:
      return "asleep";
    case Presence::offline:
      return "offline";
    case Presence::lost:
      return "lost";
    case Presence::removed:
      return "removed";
  }
  return "?";
}

std::optional<Presence> presence_of(ClientState s) {
  switch (s) {
    case ClientState::connecting:
      return std::nullopt;
    case ClientState::active:
      return Presence::online;
    // A sleeping node's wake is a moment of its sleep cycle: telling "online" and "asleep" again at
    // every wake would make every dashboard flicker and cost two retained messages per wake.
    case ClientState::asleep:
    case ClientState::awake:
      return Presence::asleep;
    case ClientState::lost:
      return Presence::lost;
    case ClientState::disconnected:
      return Presence::offline;
  }
  return std::nullopt;
}

void Gateway::set_state(Session& s, ClientState state) {
  s.state = state;
  // A node that left or was lost leaves its own upstream connection too (a lost one's will went
  // through publish() just before).
  if (state == ClientState::disconnected || state == ClientState::lost) close_node_upstream(s);
  if (std::optional<Presence> p = presence_of(state)) tell_presence(s, *p);
}

void Gateway::tell_presence(Session& s, Presence p) {
  if (s.told == p) return;
  s.told = p;
  if (presence_observer_)
    presence_observer_->on_presence(s.client_id, PresencePlace{s.peer.address, s.peer.forwarded}, p);
}

}  // namespace mqttsn
