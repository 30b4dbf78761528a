// invariant_violations(): the consistency check the core tests run (check_invariants() in
// tests/core/harness.hpp, and after every step of the random traffic test). It reads the engine's
// private tables, so it is a member; it changes nothing, and the gateway itself never calls it.
#include <algorithm>
#include <map>
#include <set>

#include "gateway.hpp"

namespace mqttsn {

std::vector<std::string> Gateway::invariant_violations() const {
  std::vector<std::string> bad = sessions_.invariant_violations();
  auto fail = [&bad](std::string what) { bad.push_back(std::move(what)); };
  std::map<const SubscriptionTree::Node*, std::size_t> session_refs;
  std::size_t all_buffered_bytes = 0;
  for (const Session& s : sessions_) {
    // What the presence observer was told last matches the state (a CONNECT under way tells nothing).
    if (const auto p = presence_of(s.state); p && s.told != *p)
      fail(s.client_id + ": presence told " + to_string(s.told) + ", state " + to_string(s.state));
    if (s.outbox) {
      if (s.outbox->empty()) fail(s.client_id + ": empty outbox kept");
      std::size_t bytes = 0;
      for (const auto* list : {&s.outbox->queue, &s.outbox->in_flight})
        for (const auto& m : *list) bytes += held_bytes(m);
      if (bytes != s.outbox->bytes) fail(s.client_id + ": outbox bytes miscounted");
      all_buffered_bytes += s.outbox->bytes;
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
    // Per node, each subscription is on its node's own connection: the shared state stays none.
    if (n.upstream == UpstreamSubState::none && uses_shared_subscription(n))
      fail("filter " + tree_.filter_of(&n) + ": not subscribed upstream");
    for (const auto& sub : n.subscribers)
      if (const Session* s = sessions_.in_slot(sub.session); s && s->per_node != sub.own_connection)
        fail("filter " + tree_.filter_of(&n) + ": subscriber on the wrong connection");
    session_refs.erase(&n);
  });
  if (!session_refs.empty()) fail("session refers to a filter not in the tree");
  if (all_buffered_bytes != buffered_bytes_) fail("buffered bytes in total miscounted");
  return bad;
}

}  // namespace mqttsn
