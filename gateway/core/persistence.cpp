// Sessions across gateway restarts (the app's store keeps the bytes; this file decides what a
// session is made of when it is kept and how it comes back).
//
// What comes back, and why:
// - An active client is restored active with a fresh keep-alive period from the restart: it may not
//   have noticed anything, and its next PINGREQ or PUBLISH with its old topic ids just works.
// - A sleeping client is restored asleep with a fresh sleep period: its buffer waits for its wake-up.
// - Disconnected and lost CleanSession=0 sessions come back as they were, with the messages queued
//   for them, delivered once the client connects again without CleanSession.
// - QoS 2 message ids the client sent and has not released are restored as "already forwarded":
//   a retransmitted PUBLISH gets its PUBREC again and a PUBREL its PUBCOMP, with no second upstream
//   publish (the message itself sits in the app's durable uplink queue, written in the same
//   transaction as the snapshot that holds the id).
#include <algorithm>

#include "gateway.hpp"
#include "log.hpp"

namespace mqttsn {

bool Gateway::kept(const Session& s) const {
  if (s.state == ClientState::connecting || s.client_id.empty()) return false;
  return !s.clean_session || s.state == ClientState::asleep || s.state == ClientState::awake;
}

std::vector<std::string> Gateway::take_changed_sessions() {
  std::vector<std::string> out = std::move(changed_);
  changed_.clear();
  urgent_change_ = false;
  for (const auto& id : out)
    if (Session* s = sessions_.find_by_client_id(id)) s->change_noted = false;
  return out;
}

std::optional<SessionSnapshot> Gateway::snapshot(std::string_view client_id) const {
  const Session* s = sessions_.find_by_client_id(client_id);
  if (!s || !kept(*s)) return std::nullopt;
  SessionSnapshot snap;
  snap.client_id = s->client_id;
  snap.address = s->peer.address;
  snap.forwarded = s->peer.forwarded;
  snap.node_id = s->peer.node_id;
  snap.state = s->state;
  snap.clean_session = s->clean_session;
  snap.keep_alive_s = s->keep_alive_s;
  snap.sleep_s = s->sleep_s;
  for (const auto& m : s->registry.entries())
    if (m.confirmed) snap.topics.push_back({m.id, std::string(m.topic.view())});
  for (const auto& sub : s->subscriptions)
    snap.subscriptions.push_back({tree_.filter_of(sub.filter), sub.qos, sub.kind});
  if (s->will) snap.will = *s->will;
  if (s->outbox) {
    auto add = [&](const OutboundPublish& m) {
      // A released QoS 2 message (PUBREC received) is the node's already and its payload is gone:
      // sent again after a restart it would arrive twice.
      if (m.released || !m.payload) return;
      snap.downlink.push_back({m.seq, std::string(m.topic.view()), *m.payload, m.qos, m.retain});
    };
    for (const auto& m : s->outbox->in_flight) add(m);
    for (const auto& m : s->outbox->queue) add(m);
  }
  for (const auto& in : s->inbound)
    if (in.qos == 2) snap.qos2_received.push_back(in.msg_id);
  return snap;
}

void Gateway::restore_subscription(Session& s, const SessionSnapshot::Subscription& sub) {
  if (!valid_filter(sub.filter) || sub.qos < 0 || sub.qos > 2) return;
  SubscriptionTree::Node* node = &tree_.insert(sub.filter);
  if (std::any_of(s.subscriptions.begin(), s.subscriptions.end(),
                  [&](const SessionSubscription& e) { return e.filter == node; }))
    return;
  node->subscribers.push_back(Subscriber{s.slot, sub.qos, s.per_node});
  s.subscriptions.push_back(SessionSubscription{node, sub.qos, sub.kind});
  // The upstream session may be gone (the broker restarted too): subscribe again. An upstream
  // subscription that exists already is simply confirmed by the broker. A node's own connection
  // has them made on it (reopen_node_upstreams, or the broker kept them).
  if (!s.per_node) request_upstream(*node, sub.filter, sub.qos);
}

bool Gateway::restore(const SessionSnapshot& snap, Millis now) {
  if (snap.client_id.empty() || sessions_.find_by_client_id(snap.client_id)) return false;
  const PeerRef peer{&snap.address, snap.forwarded, snap.node_id};
  if (sessions_.find_by_peer(peer)) return false;
  if (sessions_.size() >= options_.limits.max_clients) return false;

  Session& s = create_session(peer, snap.client_id);
  s.per_node = options_.upstream_per_node || policy_->upstream_per_node(snap.client_id);
  s.clean_session = snap.clean_session;
  s.keep_alive_s = snap.keep_alive_s;
  s.sleep_s = snap.sleep_s;
  s.last_seen = now;
  // The snapshot holds no time: a session whose node was away when it was stored has its
  // session_expiry counted from this restart (a restart extends the expiry of such sessions).
  s.away_since = now;
  switch (snap.state) {
    case ClientState::active:
      set_state(s, ClientState::active);
      break;
    case ClientState::asleep:
    case ClientState::awake:  // it goes back to sleep and wakes again for the rest of its buffer
      set_state(s, ClientState::asleep);
      break;
    case ClientState::lost:
      set_state(s, ClientState::lost);
      break;
    default:
      set_state(s, ClientState::disconnected);
      break;
  }
  for (const auto& t : snap.topics)
    if (valid_topic_name(t.name) && s.registry.size() < options_.limits.topic_ids_per_client)
      s.registry.restore(t.id, topics_.intern(t.name));
  for (const auto& sub : snap.subscriptions)
    if (s.subscriptions.size() < options_.limits.subscriptions_per_client) restore_subscription(s, sub);
  if (snap.will) s.will = std::make_unique<Will>(*snap.will);
  for (const auto& m : snap.downlink) {
    if (!valid_topic_name(m.topic)) continue;
    enqueue(s, topics_.intern(m.topic), std::make_shared<const std::vector<std::uint8_t>>(m.payload),
            std::clamp<QoS>(m.qos, 0, 2), m.retain, m.seq);
  }
  for (auto id : snap.qos2_received)
    if (s.inbound.size() < options_.limits.uplink_in_flight_per_client)
      s.inbound.push_back(InboundPublish{id, 0, 2, true, 0});
  counters_.inc(Counter::sessions_restored);
  reschedule(s);
  return true;
}

}  // namespace mqttsn
