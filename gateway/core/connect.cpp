// CONNECT and the will exchange (spec 4.3): WILLTOPICREQ / WILLTOPIC / WILLMSGREQ / WILLMSG, then
// CONNACK; CleanSession handling; a client id arriving from a new address takes the session over.
#include "gateway.hpp"
#include "log.hpp"

namespace mqttsn {

void Gateway::handle_connect(const PeerRef& peer, const Connect& c, Millis now) {
  const ConnectOrigin origin(*peer.address, peer.forwarded ? std::optional(peer.node_id) : std::nullopt);
  if (!policy_->may_connect(c.client_id, origin)) {
    counters_.inc(Counter::denied_connect);
    // MQTT-SN has no "not authorised": "not supported" is the refusal a client gives up on.
    send(peer, ConnAck{ReturnCode::not_supported});
    return;
  }
  Session* by_id = sessions_.find_by_client_id(c.client_id);
  Session* at_peer = sessions_.find_by_peer(peer);
  if (at_peer && at_peer != by_id) {
    // The node at this address comes back under another client id: its old identity is gone as
    // if the node had vanished, so that identity's will is published (field choice).
    lose_session(*at_peer, Counter::takeovers, now);
    if (Session* still = sessions_.find_by_peer(peer); still) destroy_session(*still);
  }
  Session* s = by_id;
  const bool fresh = s == nullptr;
  if (s) {
    if (!(PeerRef::of(s->peer) == peer)) {
      // Takeover: the same client id from a new address (node rebooted onto another UDP port,
      // moved behind a forwarder, ...). It is the same client, so no will is published.
      counters_.inc(Counter::takeovers);
      rebind(*s, peer);
    }
  } else {
    if (sessions_.size() >= options_.limits.max_clients && !evict_one_persistent()) {
      counters_.inc(Counter::client_limit);
      send(peer, ConnAck{ReturnCode::congestion});
      return;
    }
    s = &create_session(peer, c.client_id);
  }
  if (c.clean_session) clear_session_state(*s);
  // Which connection a node uses is settled with its subscriptions: when they start afresh. A kept
  // session stays where its subscriptions are until it is made clean.
  if (fresh || c.clean_session) {
    const bool own = options_.upstream_per_node || policy_->upstream_per_node(c.client_id);
    if (s->per_node && !own) close_node_upstream(*s);
    s->per_node = own;
  }
  s->clean_session = c.clean_session;
  s->keep_alive_s = c.duration;
  s->sleep_s = 0;
  s->last_seen = now;
  s->delivery_failures = 0;
  s->will_update = WillUpdate::none;  // a CONNECT supersedes a will update waiting for the broker
  if (c.will) {
    // The new will replaces the old one once WILLTOPIC arrives; until then the client is
    // "connecting" and a half-open exchange is dropped after N_RETRY x T_RETRY.
    set_state(*s, ClientState::connecting);
    s->stage = ConnectStage::await_will_topic;
    send(*s, WillTopicReq{});
    reschedule(*s);
    return;
  }
  accept_connection(*s, now);
}

void Gateway::handle_will_topic(Session& s, const WillTopic& w, Millis now) {
  if (w.empty) {
    // Empty WILLTOPIC = no will. Spec leaves WILLMSGREQ open; we go straight to CONNACK (a stray
    // WILLMSG afterwards is tolerated, see dispatch_session).
    s.will.reset();
    accept_connection(s, now);
    return;
  }
  if (!valid_topic_name(w.topic)) {
    counters_.inc(Counter::invalid_topic);
    refuse_connection(s, ReturnCode::not_supported, now);
    return;
  }
  if (!s.will) s.will = std::make_unique<Will>();
  s.will->topic = std::string(w.topic);
  s.will->message.clear();
  s.will->qos = w.qos;
  s.will->retain = w.retain;
  s.stage = ConnectStage::await_will_msg;
  send(s, WillMsgReq{});
}

void Gateway::handle_will_msg(Session& s, const WillMsg& w, Millis now) {
  if (w.message.size() > options_.limits.max_payload) {
    counters_.inc(Counter::payload_too_large);
    s.will.reset();
    refuse_connection(s, ReturnCode::not_supported, now);
    return;
  }
  if (s.will) s.will->message.assign(w.message.begin(), w.message.end());
  accept_connection(s, now);
}

void Gateway::refuse_connection(Session& s, ReturnCode rc, Millis now) {
  send(s, ConnAck{rc});
  s.stage = ConnectStage::none;
  set_state(s, ClientState::disconnected);
  s.away_since = now;
  drop_delivery_state(s);
  if (s.clean_session)
    destroy_session(s);
  else
    reschedule(s);
}

void Gateway::accept_connection(Session& s, Millis now) {
  if (s.per_node) {
    // The node's CONNACK waits for the broker's on its own connection (on_node_connack).
    set_state(s, ClientState::connecting);
    s.stage = ConnectStage::await_upstream;
    open_node_upstream(s);
    reschedule(s);
    return;
  }
  complete_connection(s, now);
}

void Gateway::complete_connection(Session& s, Millis now) {
  note_change(s);
  set_state(s, ClientState::active);
  s.stage = ConnectStage::none;
  send(s, ConnAck{ReturnCode::accepted});
  MQTTSN_LOG(info, "client %s connected from %s (keep-alive %u s, clean %d)", s.client_id.c_str(),
             s.peer.address.to_string().c_str(), s.keep_alive_s, s.clean_session ? 1 : 0);
  // Spec 4.3/4.9: a client coming back from sleep (or reconnecting with CleanSession=0) gets its
  // buffered messages after the CONNACK; unacknowledged ones go again with DUP.
  resend_in_flight(s, now);
  pump(s, now);
  reschedule(s);
}

}  // namespace mqttsn
