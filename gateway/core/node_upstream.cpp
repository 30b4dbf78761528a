// Per-node upstream (the transparent gateway, GatewayOptions::upstream_per_node): each node has its own
// broker connection. The node's CONNACK waits for the broker's answer on it, the node's subscriptions
// are made on it one by one, and what arrives on it is for that node alone. The connection closes when
// the node leaves or is lost; a lost node's will has gone up on it just before. After a restart the
// connections of restored sessions whose nodes are awake or asleep are made again at once, so their
// wills are armed and the broker delivers to them before the nodes are heard from.
#include <algorithm>

#include "gateway.hpp"
#include "log.hpp"

namespace mqttsn {

void Gateway::open_node_upstream(Session& s) {
  s.upstream_open = true;
  out_.node_connect(Outputs::NodeConnect{s.client_id, s.clean_session, s.keep_alive_s, s.will.get()});
}

void Gateway::close_node_upstream(Session& s) {
  if (!s.upstream_open) return;
  s.upstream_open = false;
  out_.node_close(s.client_id);
}

std::optional<bool> Gateway::on_own_connection(std::string_view client_id) const {
  const Session* s = sessions_.find_by_client_id(client_id);
  if (s == nullptr) return std::nullopt;
  return s->per_node;
}

std::size_t Gateway::reopen_node_upstreams() {
  std::size_t opened = 0;
  for (Session& s : sessions_) {
    if (!s.per_node || s.upstream_open || (s.state != ClientState::active && s.state != ClientState::asleep))
      continue;
    open_node_upstream(s);
    // A clean broker session has none of them; a kept one simply confirms them.
    for (const auto& sub : s.subscriptions)
      out_.node_subscribe(s.client_id, tree_.filter_of(sub.filter), sub.qos);
    ++opened;
  }
  return opened;
}

void Gateway::on_node_connack(std::string_view client_id, ReturnCode rc, Millis now) {
  Session* s = sessions_.find_by_client_id(client_id);
  if (s && s->will_update != WillUpdate::none && s->upstream_open && s->state != ClientState::connecting) {
    // The connection made again for a new will: the node hears how it went. Without it the node
    // has no broker connection, so the gateway ends its session as if it had sent DISCONNECT.
    answer_will_update(*s, rc);
    if (rc != ReturnCode::accepted) {
      MQTTSN_LOG(notice, "client %s disconnected: its broker connection with the new will was refused",
                 s->client_id.c_str());
      handle_disconnect(*s, Disconnect{}, now);
    }
    return;
  }
  if (s && s->upstream_open && s->state != ClientState::connecting) {
    // A connection reopened for a restored session: nobody waits for its answer.
    if (rc != ReturnCode::accepted) {
      MQTTSN_LOG(
          notice,
          "client %s: its broker connection was refused after the restart; made again at its next CONNECT",
          s->client_id.c_str());
      s->upstream_open = false;
    }
    return;
  }
  if (!s || s->state != ClientState::connecting || s->stage != ConnectStage::await_upstream ||
      !s->upstream_open) {
    counters_.inc(Counter::stale_upstream_ack);
    return;
  }
  if (rc == ReturnCode::accepted) return complete_connection(*s, now);
  MQTTSN_LOG(notice, "client %s refused: its broker connection was refused", s->client_id.c_str());
  s->will.reset();
  refuse_connection(*s, rc, now);
}

void Gateway::subscribe_per_node(Session& s, SubscriptionTree::Node& node, std::string_view filter,
                                 const SubscribeWaiter& waiter) {
  node.waiters.push_back(waiter);
  node.waiters.back().own_connection = true;
  ++s.pending_subscribes;
  out_.node_subscribe(s.client_id, filter, waiter.requested);
}

void Gateway::on_node_suback(std::string_view client_id, std::string_view filter, std::optional<QoS> granted,
                             Millis now) {
  (void)now;
  Session* s = sessions_.find_by_client_id(client_id);
  SubscriptionTree::Node* node = tree_.find(filter);
  if (!node || !s) {
    counters_.inc(Counter::stale_upstream_ack);
    return;
  }
  auto w = std::find_if(node->waiters.begin(), node->waiters.end(), [&](const SubscribeWaiter& x) {
    return x.session == s->slot && x.serial == s->serial;
  });
  if (w == node->waiters.end()) {
    // The broker's answer to a restored subscription made again on a reopened connection.
    const bool restored = std::any_of(s->subscriptions.begin(), s->subscriptions.end(),
                                      [&](const SessionSubscription& sub) { return sub.filter == node; });
    if (!restored) counters_.inc(Counter::stale_upstream_ack);
    return;
  }
  const SubscribeWaiter waiter = *w;
  node->waiters.erase(w);
  note_change(*s);
  if (s->pending_subscribes > 0) --s->pending_subscribes;
  if (!granted) {
    counters_.inc(Counter::subscribe_refused);
    send(*s, SubAck{0, kNoTopicId, waiter.msg_id, ReturnCode::not_supported});
    release_filter_if_unused(node);
    return;
  }
  grant_subscription(*s, *node, std::min(waiter.requested, *granted), waiter);
  release_filter_if_unused(node);  // when the grant found the node moved to the shared connection
}

DownlinkReceipt Gateway::on_node_message(std::string_view client_id, std::string_view topic, Bytes payload,
                                         QoS qos, bool retain, Millis now) {
  const Session* s = sessions_.find_by_client_id(client_id);
  if (!s) return {};
  return deliver(topic, payload, qos, retain, now, s);
}

}  // namespace mqttsn
