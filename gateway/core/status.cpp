// The status API (for the status socket / gwctl) and the consistency check used by the tests.
#include <algorithm>
#include <map>
#include <set>

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
    c.in_flight = s.in_flight();
    c.buffered = s.buffered();
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

std::vector<std::string> Gateway::invariant_violations() const {
  std::vector<std::string> bad = sessions_.invariant_violations();
  auto fail = [&bad](std::string what) { bad.push_back(std::move(what)); };
  std::map<const SubscriptionTree::Node*, std::size_t> session_refs;
  for (const Session& s : sessions_) {
    if (s.outbox) {
      if (s.outbox->empty()) fail(s.client_id + ": empty outbox kept");
      if (s.outbox->queue.size() > std::max<std::size_t>(1, options_.limits.buffered_per_client))
        fail(s.client_id + ": buffer over its limit");
      if (s.in_flight() > options_.limits.in_flight_per_client)
        fail(s.client_id + ": in-flight over its limit");
      // Only a CleanSession=0 session keeps messages while its client is away, and registers nothing.
      if (!s.connected() && s.state != ClientState::connecting &&
          (s.clean_session || !s.outbox->registering.empty()))
        fail(s.client_id + ": outbox while offline");
      for (const auto& m : s.outbox->in_flight)
        if (m.qos == 0 || (!m.released && !m.payload)) fail(s.client_id + ": bad in-flight entry");
      for (const auto& r : s.outbox->registering) {
        const TopicMapping* tm = s.registry.find_id(r.topic_id);
        if (!tm || tm->confirmed || !(tm->topic == r.topic))
          fail(s.client_id + ": REGISTER without its mapping");
      }
    }
    if (auto d = session_deadline(s); d && (!s.scheduled || *s.scheduled > *d))
      fail(s.client_id + ": a deadline is not scheduled");
    for (const auto& m : s.registry.entries()) {
      if (m.confirmed) continue;
      bool found = s.outbox && std::any_of(s.outbox->registering.begin(), s.outbox->registering.end(),
                                           [&](const OutboundRegister& r) { return r.topic_id == m.id; });
      if (!found) fail(s.client_id + ": unconfirmed mapping without a REGISTER in flight");
    }
    if (s.registry.size() > options_.limits.topic_ids_per_client) fail(s.client_id + ": too many topic ids");
    if (s.subscriptions.size() + s.pending_subscribes > options_.limits.subscriptions_per_client)
      fail(s.client_id + ": too many subscriptions");
    for (const auto& sub : s.subscriptions) {
      ++session_refs[sub.filter];
      bool listed = std::any_of(sub.filter->subscribers.begin(), sub.filter->subscribers.end(),
                                [&](const Subscriber& x) { return x.session == s.slot && x.qos == sub.qos; });
      if (!listed) fail(s.client_id + ": subscription missing from the tree");
    }
    for (const auto& in : s.inbound) {
      if (in.upstream_done) continue;
      auto it = in.id == 0 ? pending_uplinks_.end() : pending_uplinks_.find(in.id);
      if (it == pending_uplinks_.end() || it->second.slot != s.slot || it->second.serial != s.serial ||
          it->second.msg_id != in.msg_id)
        fail(s.client_id + ": inbound publish without its publish id");
    }
    if (s.inbound.size() > options_.limits.uplink_in_flight_per_client)
      fail(s.client_id + ": too many inbound");
  }
  for (const auto& entry : pending_uplinks_) {
    // Not a structured binding: clang 14 (the fuzz build) cannot capture one in the lambda below.
    const PublishId id = entry.first;
    const PendingUplink& p = entry.second;
    if (id == 0) fail("publish id 0 awaits a result");
    const Session* s = sessions_.find_by_slot(p.slot, p.serial);
    if (!s) {
      fail("orphan publish id");
      continue;
    }
    bool found = std::any_of(s->inbound.begin(), s->inbound.end(), [&](const InboundPublish& in) {
      return in.id == id && in.msg_id == p.msg_id && !in.upstream_done;
    });
    if (!found) fail("publish id without its inbound publish");
  }
  tree_.for_each_filter([&](const SubscriptionTree::Node& n) {
    auto it = session_refs.find(&n);
    std::size_t refs = it == session_refs.end() ? 0 : it->second;
    if (refs != n.subscribers.size()) fail("filter " + tree_.filter_of(&n) + ": subscriber count mismatch");
    std::set<std::uint32_t> uniq;
    for (const auto& sub : n.subscribers) uniq.insert(sub.session);
    if (uniq.size() != n.subscribers.size()) fail("filter " + tree_.filter_of(&n) + ": duplicate subscriber");
    if (n.upstream == UpstreamSubState::none && (!n.subscribers.empty() || !n.waiters.empty()))
      fail("filter " + tree_.filter_of(&n) + ": not subscribed upstream");
    session_refs.erase(&n);
  });
  if (!session_refs.empty()) fail("session refers to a filter not in the tree");
  return bad;
}

}  // namespace mqttsn
