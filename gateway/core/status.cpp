// The status API (for the status socket / gwctl): copies of the engine's sessions, topic mappings and
// subscriptions. The consistency check the tests run is in invariants.cpp.
#include <algorithm>

#include "gateway.hpp"

namespace mqttsn {

const char* to_string(TopicKind k) {
  switch (k) {
    case TopicKind::normal:
      return "normal";
    case TopicKind::predefined:
      return "predefined";
    case TopicKind::short_name:
      return "short";
  }
  return "?";
}

const char* to_string(UpstreamSubState s) {
  switch (s) {
    case UpstreamSubState::none:
      return "none";
    case UpstreamSubState::pending:
      return "pending";
    case UpstreamSubState::granted:
      return "granted";
  }
  return "?";
}

namespace {

void add_session_mappings(const Session& s, const SubscriptionTree& tree,
                          std::vector<TopicMappingStatus>& out) {
  for (const auto& m : s.registry.entries())
    out.push_back(
        TopicMappingStatus{s.client_id, m.id, std::string(m.topic.view()), TopicKind::normal, m.confirmed});
  for (const auto& sub : s.subscriptions) {
    if (sub.kind != TopicIdType::short_name) continue;
    std::string name = tree.filter_of(sub.filter);
    if (name.size() == 2)
      out.push_back(TopicMappingStatus{s.client_id, short_topic_id(name[0], name[1]), name,
                                       TopicKind::short_name, true});
  }
}

void sort_mappings(std::vector<TopicMappingStatus>& out) {
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.client_id != b.client_id ? a.client_id < b.client_id : a.topic_id < b.topic_id;
  });
}

}  // namespace

ClientStatus Gateway::status_of(const Session& s) const {
  ClientStatus c;
  c.client_id = s.client_id;
  c.address = s.peer.address;
  c.forwarded = s.peer.forwarded;
  c.node_id = s.peer.node_id;
  c.state = s.state;
  c.keep_alive_s = s.keep_alive_s;
  c.sleep_s = s.sleep_s;
  c.clean_session = s.clean_session;
  c.kept = kept(s);
  c.last_seen = s.last_seen;
  if (s.state == ClientState::lost || s.state == ClientState::disconnected) c.expires = session_deadline(s);
  c.in_flight = s.in_flight();
  c.buffered = s.buffered();
  c.buffered_bytes = s.outbox ? s.outbox->bytes : 0;
  c.buffer_refused = s.buffer_refused;
  c.buffer_full = s.buffer_full;
  c.msgs_up = s.msgs_up;
  c.msgs_down = s.msgs_down;
  c.subscriptions = s.subscriptions.size();
  c.has_will = s.will != nullptr;
  return c;
}

std::string_view Gateway::client_id_at(const LinkAddress& address) const {
  const Session* s = sessions_.find_by_peer(PeerRef{&address, false, {}});
  return s ? std::string_view(s->client_id) : std::string_view{};
}

std::vector<ClientStatus> Gateway::clients() const {
  std::vector<ClientStatus> out;
  for (const Session& s : sessions_) out.push_back(status_of(s));
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.client_id < b.client_id; });
  return out;
}

std::optional<ClientStatus> Gateway::client(std::string_view client_id) const {
  const Session* s = sessions_.find_by_client_id(client_id);
  if (!s) return std::nullopt;
  return status_of(*s);
}

std::vector<TopicMappingStatus> Gateway::topic_mappings() const {
  std::vector<TopicMappingStatus> out;
  for (const auto& [id, topic] : predefined_.global)
    out.push_back(TopicMappingStatus{"*", id, topic, TopicKind::predefined, true});
  for (const auto& [client, table] : predefined_.per_client)
    for (const auto& [id, topic] : table)
      out.push_back(TopicMappingStatus{client, id, topic, TopicKind::predefined, true});
  for (const Session& s : sessions_) add_session_mappings(s, tree_, out);
  sort_mappings(out);
  return out;
}

std::vector<TopicMappingStatus> Gateway::topic_mappings_of(std::string_view client_id) const {
  std::vector<TopicMappingStatus> out;
  const Session* s = sessions_.find_by_client_id(client_id);
  if (!s) return out;
  // The predefined ids this node may use: its own, and the global ones it does not override.
  const auto own = predefined_.per_client.find(client_id);
  if (own != predefined_.per_client.end())
    for (const auto& [id, topic] : own->second)
      out.push_back(TopicMappingStatus{s->client_id, id, topic, TopicKind::predefined, true});
  for (const auto& [id, topic] : predefined_.global)
    if (own == predefined_.per_client.end() || !own->second.contains(id))
      out.push_back(TopicMappingStatus{"*", id, topic, TopicKind::predefined, true});
  add_session_mappings(*s, tree_, out);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.topic_id < b.topic_id; });
  return out;
}

std::vector<std::pair<std::string, QoS>> Gateway::subscriptions_of(std::string_view client_id) const {
  std::vector<std::pair<std::string, QoS>> out;
  if (const Session* s = sessions_.find_by_client_id(client_id))
    for (const auto& sub : s->subscriptions) out.emplace_back(tree_.filter_of(sub.filter), sub.qos);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<SubscriptionStatus> Gateway::subscriptions() const {
  std::vector<SubscriptionStatus> out;
  tree_.for_each_filter([&](const SubscriptionTree::Node& n) {
    SubscriptionStatus st;
    st.filter = tree_.filter_of(&n);
    st.clients = n.subscribers.size();
    st.waiting = n.waiters.size();
    st.upstream = n.upstream;
    st.requested = n.requested;
    if (n.upstream == UpstreamSubState::granted) st.granted = n.granted;
    for (const auto& sub : n.subscribers)
      if (const Session* s = sessions_.in_slot(sub.session))
        st.subscribers.emplace_back(s->client_id, sub.qos);
    out.push_back(std::move(st));
  });
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.filter < b.filter; });
  return out;
}

}  // namespace mqttsn
