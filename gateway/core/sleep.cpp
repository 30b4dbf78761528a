// DISCONNECT, sleep and PINGREQ (spec 4.8, 4.9).
// - DISCONNECT without duration: normal close, will discarded, answered with DISCONNECT; the session
//   is kept (subscriptions, topic ids) only for CleanSession=0.
// - DISCONNECT with duration: asleep, answered with DISCONNECT without duration; messages for the
//   client are buffered (bounded, see enqueue) until it wakes.
// - PINGREQ with the client id from a sleeping client: awake; the buffer is sent with the normal
//   handshakes and PINGRESP follows the last of them; then asleep again, sleep timer restarted.
#include "gateway.hpp"
#include "log.hpp"

namespace mqttsn {

void Gateway::handle_disconnect(Session& s, const Disconnect& d, Millis now) {
  send(s, Disconnect{});
  if (d.duration) {
    set_state(s, ClientState::asleep);
    s.sleep_s = *d.duration;
    s.last_seen = now;
    reschedule(s);
    return;
  }
  s.will.reset();  // a normal close never publishes the will
  if (s.clean_session) {
    destroy_session(s);
    return;
  }
  set_state(s, ClientState::disconnected);
  s.away_since = now;
  drop_delivery_state(s);
  reschedule(s);  // session_expiry
}

void Gateway::handle_pingreq(const PeerRef& peer, Session* s, const PingReq& p, Millis now) {
  if (!p.client_id.empty()) {
    Session* owner = sessions_.find_by_client_id(p.client_id);
    if (!owner || !owner->connected()) {
      counters_.inc(Counter::unknown_client);
      send(peer, Disconnect{});
      return;
    }
    if (!(PeerRef::of(owner->peer) == peer)) {
      // A sleeping node that woke with a new address (e.g. a new UDP port): it proved its id.
      if (s && s != owner) {
        lose_session(*s, Counter::takeovers, now);
        if (Session* still = sessions_.find_by_peer(peer)) destroy_session(*still);
      }
      counters_.inc(Counter::takeovers);
      rebind(*owner, peer);
    }
    s = owner;
    s->last_seen = now;
    s->delivery_failures = 0;
    if (s->state == ClientState::asleep || s->state == ClientState::awake) {
      set_state(*s, ClientState::awake);
      resend_in_flight(*s, now);
      pump(*s, now);  // ends with PINGRESP once nothing is left (finish_wake_if_done)
      return;
    }
    send(*s, PingResp{});
    return;
  }
  if (!s || !s->connected()) {
    counters_.inc(Counter::unknown_client);
    send(peer, Disconnect{});
    return;
  }
  s->last_seen = now;
  s->delivery_failures = 0;
  send(*s, PingResp{});
  reschedule(*s);
}

void Gateway::finish_wake_if_done(Session& s, Millis now) {
  if (s.state != ClientState::awake || (s.outbox && !s.outbox->empty())) return;
  send(s, PingResp{});
  set_state(s, ClientState::asleep);
  s.last_seen = now;  // the sleep timer restarts
}

}  // namespace mqttsn
