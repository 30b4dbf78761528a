// SUBSCRIBE / UNSUBSCRIBE (spec 4.6) and the upstream side of subscriptions: one upstream subscribe
// per distinct filter when its first client needs it (at the max QoS any client asked for, capped
// by configuration), one unsubscribe when its last client leaves. The client's SUBACK waits for the
// broker's answer (on_upstream_suback); a refusal becomes SUBACK "not supported" (MQTT 0x80 -> 0x03).
//
// A subscriber enters the tree only when the broker granted the filter: MQTT sends the SUBACK
// before any retained message, so the bridge reports the suback first and nothing is missed.
#include <algorithm>

#include "gateway.hpp"

namespace mqttsn {

namespace {
QoS min_qos(QoS a, QoS b) {
  return a < b ? a : b;
}
}  // namespace

void Gateway::handle_subscribe(Session& s, const Subscribe& m) {
  std::string_view filter;
  std::uint16_t suback_topic_id = kNoTopicId;
  char short_buf[2];
  auto reject = [&](ReturnCode rc, Counter why) {
    counters_.inc(why);
    send(s, SubAck{0, kNoTopicId, m.msg_id, rc});
  };
  switch (m.topic_id_type) {
    case TopicIdType::normal:
      filter = m.topic_name;
      if (!valid_filter(filter)) return reject(ReturnCode::not_supported, Counter::invalid_topic);
      break;
    case TopicIdType::predefined:
      filter = resolve_topic(&s, TopicIdType::predefined, m.topic_id, short_buf);
      if (filter.empty()) return reject(ReturnCode::invalid_topic_id, Counter::unknown_topic_id);
      suback_topic_id = m.topic_id;
      break;
    case TopicIdType::short_name:
      filter = resolve_topic(&s, TopicIdType::short_name, m.topic_id, short_buf);
      // Wildcards in a 2-character short name make no sense (spec 4.6).
      if (has_wildcard(filter) || !valid_filter(filter))
        return reject(ReturnCode::not_supported, Counter::invalid_topic);
      break;
  }
  if (!policy_->may_subscribe(s.client_id, filter))
    return reject(ReturnCode::not_supported, Counter::denied_subscribe);

  SubscriptionTree::Node* node = tree_.find(filter);
  auto existing = std::find_if(s.subscriptions.begin(), s.subscriptions.end(),
                               [&](const SessionSubscription& e) { return node && e.filter == node; });
  bool waiting =
      node && std::any_of(node->waiters.begin(), node->waiters.end(), [&](const SubscribeWaiter& w) {
        return w.session == s.slot && w.serial == s.serial;
      });
  if (waiting) return;  // a DUP of a SUBSCRIBE already waiting for the broker: one SUBACK follows
  if (existing == s.subscriptions.end() &&
      s.subscriptions.size() + s.pending_subscribes >= options_.limits.subscriptions_per_client)
    return reject(ReturnCode::congestion, Counter::subscription_limit);

  if (m.topic_id_type == TopicIdType::normal && !has_wildcard(filter)) {
    // A plain name gets a normal topic id: the client learns it from the SUBACK.
    if (const TopicMapping* tm = s.registry.find_name(filter)) {
      suback_topic_id = tm->id;
    } else {
      auto id = s.registry.add(topics_.intern(filter), true, options_.limits.topic_ids_per_client);
      if (!id) return reject(ReturnCode::congestion, Counter::topic_id_limit);
      suback_topic_id = *id;
    }
  }
  // Subscribing again to a name it once refused (REGACK error) means the client wants it now.
  std::erase_if(s.rejected_topics, [&](const TopicRef& t) { return t.view() == filter; });

  QoS requested = min_qos(m.qos, options_.max_granted_qos);
  if (!node) node = &tree_.insert(filter);
  if (s.per_node)
    return subscribe_per_node(
        s, *node, filter,
        SubscribeWaiter{s.slot, s.serial, m.msg_id, suback_topic_id, requested, m.topic_id_type});
  if (node->upstream == UpstreamSubState::granted && requested <= node->requested) {
    QoS granted = min_qos(requested, node->granted);
    if (existing != s.subscriptions.end()) {
      existing->qos = granted;
      for (auto& sub : node->subscribers)
        if (sub.session == s.slot) sub.qos = granted;
    } else {
      node->subscribers.push_back(Subscriber{s.slot, granted});
      s.subscriptions.push_back(SessionSubscription{node, granted, m.topic_id_type});
    }
    send(s, SubAck{granted, suback_topic_id, m.msg_id, ReturnCode::accepted});
    return;
  }
  request_upstream(*node, filter, requested);
  node->upstream = UpstreamSubState::pending;  // this client waits for the broker's answer either way
  node->waiters.push_back(
      SubscribeWaiter{s.slot, s.serial, m.msg_id, suback_topic_id, requested, m.topic_id_type});
  ++s.pending_subscribes;
}

// First client of this filter, or one asking more than was asked upstream: (re)subscribe there.
void Gateway::request_upstream(SubscriptionTree::Node& node, std::string_view filter, QoS qos) {
  if (node.upstream != UpstreamSubState::none && qos <= node.requested) return;
  node.requested = std::max(node.requested, qos);
  node.upstream = UpstreamSubState::pending;
  out_.subscribe(filter, node.requested);
}

void Gateway::on_upstream_suback(std::string_view filter, std::optional<QoS> granted, Millis now) {
  SubscriptionTree::Node* node = tree_.find(filter);
  if (!node || node->upstream != UpstreamSubState::pending) {
    counters_.inc(Counter::stale_upstream_ack);
    return;
  }
  // Those waiting for their own connections' SUBACKs (mixed mode) stay.
  std::vector<SubscribeWaiter> waiters;
  std::erase_if(node->waiters, [&](const SubscribeWaiter& w) {
    if (w.own_connection) return false;
    waiters.push_back(w);
    return true;
  });
  if (granted) {
    node->upstream = UpstreamSubState::granted;
    node->granted = min_qos(*granted, node->requested);
  } else {
    counters_.inc(Counter::subscribe_refused);
    // A refused upgrade leaves the earlier grant (and its subscribers) in place.
    const bool held = uses_shared_subscription(*node);
    node->upstream = held ? UpstreamSubState::granted : UpstreamSubState::none;
    if (!held) node->requested = -1;
  }
  for (const auto& w : waiters) {
    Session* s = sessions_.find_by_slot(w.session, w.serial);
    if (!s) continue;  // the client went away meanwhile
    note_change(*s);
    if (s->pending_subscribes > 0) --s->pending_subscribes;
    if (!granted) {
      send(*s, SubAck{0, kNoTopicId, w.msg_id, ReturnCode::not_supported});
      continue;
    }
    grant_subscription(*s, *node, min_qos(w.requested, node->granted), w);
  }
  (void)now;
  release_filter_if_unused(node);
}

void Gateway::grant_subscription(Session& s, SubscriptionTree::Node& node, QoS q, const SubscribeWaiter& w) {
  if (w.own_connection != s.per_node) {
    // The node moved to the other connection since it asked (a clean CONNECT after the admission
    // list changed): what this connection granted is not where its messages now come from. The
    // caller releases the filter if nobody holds it.
    counters_.inc(Counter::stale_upstream_ack);
    if (s.connected()) send(s, SubAck{0, kNoTopicId, w.msg_id, ReturnCode::congestion});
    return;
  }
  auto existing = std::find_if(s.subscriptions.begin(), s.subscriptions.end(),
                               [&](const SessionSubscription& e) { return e.filter == &node; });
  if (existing != s.subscriptions.end()) {
    existing->qos = q;
    for (auto& sub : node.subscribers)
      if (sub.session == s.slot) sub.qos = q;
  } else {
    node.subscribers.push_back(Subscriber{s.slot, q, s.per_node});
    s.subscriptions.push_back(SessionSubscription{&node, q, w.kind});
  }
  if (s.connected()) send(s, SubAck{q, w.topic_id, w.msg_id, ReturnCode::accepted});
}

void Gateway::handle_unsubscribe(Session& s, const Unsubscribe& m) {
  char short_buf[2];
  std::string_view filter = m.topic_id_type == TopicIdType::normal
                                ? m.topic_name
                                : resolve_topic(&s, m.topic_id_type, m.topic_id, short_buf);
  if (SubscriptionTree::Node* node = filter.empty() ? nullptr : tree_.find(filter)) {
    auto it = std::find_if(s.subscriptions.begin(), s.subscriptions.end(),
                           [&](const SessionSubscription& e) { return e.filter == node; });
    std::size_t before = node->waiters.size();
    std::erase_if(node->waiters,
                  [&](const SubscribeWaiter& w) { return w.session == s.slot && w.serial == s.serial; });
    if (before != node->waiters.size() && s.pending_subscribes > 0) --s.pending_subscribes;
    if (it != s.subscriptions.end())
      remove_subscription(s, static_cast<std::size_t>(it - s.subscriptions.begin()));
    else
      release_filter_if_unused(node);
  }
  // Spec 4.6: always answered, also for a filter the client did not hold.
  send(s, UnsubAck{m.msg_id});
}

void Gateway::remove_subscription(Session& s, std::size_t index) {
  SubscriptionTree::Node* node = s.subscriptions[index].filter;
  if (s.upstream_open) out_.node_unsubscribe(s.client_id, tree_.filter_of(node));
  s.subscriptions.erase(s.subscriptions.begin() + static_cast<std::ptrdiff_t>(index));
  auto& subs = node->subscribers;
  subs.erase(
      std::remove_if(subs.begin(), subs.end(), [&](const Subscriber& x) { return x.session == s.slot; }),
      subs.end());
  release_filter_if_unused(node);
}

bool Gateway::uses_shared_subscription(const SubscriptionTree::Node& node) {
  return std::any_of(node.subscribers.begin(), node.subscribers.end(),
                     [](const Subscriber& x) { return !x.own_connection; }) ||
         std::any_of(node.waiters.begin(), node.waiters.end(),
                     [](const SubscribeWaiter& w) { return !w.own_connection; });
}

// The last subscriber on the shared connection left: unsubscribe there; the last of all: forget the
// filter. A filter still pending upstream stays until the broker answers (the answer then finds no
// subscriber and unsubscribes). Subscribers on their own connections (mixed mode) do not hold the
// shared subscription.
void Gateway::release_filter_if_unused(SubscriptionTree::Node* node) {
  if (node->upstream == UpstreamSubState::pending) return;
  if (uses_shared_subscription(*node)) return;
  if (node->upstream == UpstreamSubState::granted) {
    std::string filter = tree_.filter_of(node);
    out_.unsubscribe(filter);
  }
  node->upstream = UpstreamSubState::none;
  node->requested = -1;
  if (!node->subscribers.empty() || !node->waiters.empty()) return;
  node->subscribers.shrink_to_fit();
  node->waiters.shrink_to_fit();
  tree_.prune(node);
}

}  // namespace mqttsn
