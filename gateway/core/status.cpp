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

std::string_view Gateway::client_id_at(const LinkAddress& address) const {
  const Session* s = sessions_.find_by_peer(PeerRef{&address, false, {}});
  return s ? std::string_view(s->client_id) : std::string_view{};
}

std::vector<ClientStatus> Gateway::clients() const {
  std::vector<ClientStatus> out;
  for (const Session& s : sessions_) {
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
    out.push_back(std::move(c));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.client_id < b.client_id; });
  return out;
}

std::vector<TopicMappingStatus> Gateway::topic_mappings() const {
  std::vector<TopicMappingStatus> out;
  for (const auto& [id, topic] : predefined_.global)
    out.push_back(TopicMappingStatus{"*", id, topic, TopicKind::predefined, true});
  for (const auto& [client, table] : predefined_.per_client)
    for (const auto& [id, topic] : table)
      out.push_back(TopicMappingStatus{client, id, topic, TopicKind::predefined, true});
  for (const Session& s : sessions_) {
    for (const auto& m : s.registry.entries())
      out.push_back(
          TopicMappingStatus{s.client_id, m.id, std::string(m.topic.view()), TopicKind::normal, m.confirmed});
    for (const auto& sub : s.subscriptions) {
      if (sub.kind != TopicIdType::short_name) continue;
      std::string name = tree_.filter_of(sub.filter);
      if (name.size() == 2)
        out.push_back(TopicMappingStatus{s.client_id, short_topic_id(name[0], name[1]), name,
                                         TopicKind::short_name, true});
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.client_id != b.client_id ? a.client_id < b.client_id : a.topic_id < b.topic_id;
  });
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
