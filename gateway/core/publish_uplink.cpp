// Client -> broker PUBLISH at QoS -1, 0, 1, 2 (spec 4.5, 4.7).
//
// Choices written down here:
// - The upstream answers a publish later, never during Outputs::publish() (the core is not
//   re-entrant, and the upstream may have to commit to disk or reach the broker first). A QoS 1/2
//   PUBLISH gets a PublishId (a process-wide counter, never 0, never reused) and a record in
//   s.inbound plus pending_uplinks_; on_publish_result(id, ...) finds it again. QoS 0/-1 go with
//   id 0: no result comes back, the upstream counts what it drops.
// - QoS 1: the PUBACK goes to the client only on the result `delivered` or `kept` (end-to-end: the
//   broker or the store has it). `congested` is answered with PUBACK "rejected: congestion": the
//   client backs off T_WAIT and retries (a new publish, a new id), nothing is lost silently.
// - QoS 2: published upstream on PUBLISH receipt; PUBREC goes out on `delivered` or `kept`. The msg
//   id is remembered from receipt until PUBREL, so a DUP retransmission is not published twice
//   (waiting for the result, it gets nothing; afterwards, PUBREC again). `congested` forgets the
//   msg id and answers PUBACK "rejected: congestion". PUBCOMP answers every PUBREL (also an unknown
//   one: the first PUBCOMP may have been lost).
// - A result whose record is gone (the session went away or started clean, the id was answered
//   already, or was never given) is counted as stale_upstream_ack and otherwise ignored: a result
//   never acknowledges another publish that happens to reuse the msg id.
// - Errors found here at any QoS (unknown id, denied, too large, too many awaiting the broker) are
//   answered with PUBACK + rc, as the spec allows even for QoS 0; QoS -1 gets no answer, only
//   counters.
#include <algorithm>
#include <atomic>

#include "gateway.hpp"

namespace mqttsn {

const char* to_string(PublishResult r) {
  switch (r) {
    case PublishResult::delivered:
      return "delivered";
    case PublishResult::kept:
      return "kept";
    case PublishResult::congested:
      return "congested";
  }
  return "?";
}

namespace {
// One counter for every Gateway in the process: an id names one publish to whatever upstream hears
// it, even if a Gateway is replaced while results for the old one are still on their way.
std::atomic<PublishId> g_next_publish_id{1};
}  // namespace

void Gateway::handle_publish(Session& s, const Publish& p, Millis /*now*/) {
  char short_buf[2];
  std::string_view topic = resolve_topic(&s, p.topic_id_type, p.topic_id, short_buf);
  auto reject = [&](ReturnCode rc, Counter why) {
    counters_.inc(why);
    send(s, PubAck{p.topic_id, p.msg_id, rc});
  };
  if (topic.empty()) return reject(ReturnCode::invalid_topic_id, Counter::unknown_topic_id);
  if (p.data.size() > options_.limits.max_payload)
    return reject(ReturnCode::not_supported, Counter::payload_too_large);
  if (!policy_->may_publish(s.client_id, topic))
    return reject(ReturnCode::not_supported, Counter::denied_publish);

  PublishId id = 0;
  if (p.qos >= 1) {
    auto rec = std::find_if(s.inbound.begin(), s.inbound.end(),
                            [&](const InboundPublish& r) { return r.msg_id == p.msg_id && r.qos == p.qos; });
    if (rec != s.inbound.end()) {
      // A retransmission of a publish we still hold: never published twice. QoS 2 already taken by
      // the upstream gets its PUBREC again; otherwise the answer follows the upstream's result.
      counters_.inc(Counter::duplicate_publishes);
      if (p.qos == 2 && rec->upstream_done) send(s, PubRec{p.msg_id});
      return;
    }
    if (s.inbound.size() >= options_.limits.uplink_in_flight_per_client)
      return reject(ReturnCode::congestion, Counter::uplink_in_flight_limit);
    id = g_next_publish_id.fetch_add(1, std::memory_order_relaxed);
    if (s.inbound.empty()) s.inbound.reserve(2);
    s.inbound.push_back(InboundPublish{p.msg_id, p.topic_id, p.qos, false, id});
    pending_uplinks_[id] = PendingUplink{s.slot, s.serial, p.msg_id};
  }
  counters_.inc(Counter::publishes_up);
  ++s.msgs_up;
  out_.publish(id, s.client_id, topic, p.data, p.qos, p.retain);
}

// Spec 4.5: QoS -1 from a node that may never have connected; only predefined ids and short names
// (the codec already rejects a normal id). A connected sender's own predefined ids apply.
void Gateway::handle_publish_minus1(const PeerRef& peer, const Publish& p) {
  Session* s = sessions_.find_by_peer(peer);
  if (s && !s->connected()) s = nullptr;
  char short_buf[2];
  std::string_view topic = resolve_topic(s, p.topic_id_type, p.topic_id, short_buf);
  if (topic.empty()) return counters_.inc(Counter::unknown_topic_id);
  if (p.data.size() > options_.limits.max_payload) return counters_.inc(Counter::payload_too_large);
  const std::string_view client_id = s ? std::string_view(s->client_id) : std::string_view{};
  if (!policy_->may_publish(client_id, topic)) return counters_.inc(Counter::denied_publish);
  counters_.inc(Counter::qosm1_publishes);
  if (s) ++s->msgs_up;
  out_.publish(0, client_id, topic, p.data, -1, p.retain);
}

void Gateway::handle_pubrel(Session& s, const PubRel& p) {
  auto rec = std::find_if(s.inbound.begin(), s.inbound.end(),
                          [&](const InboundPublish& r) { return r.msg_id == p.msg_id && r.qos == 2; });
  if (rec != s.inbound.end()) {
    // A PUBREL before our PUBREC cannot be a correct client; wait for the upstream and its retry.
    if (!rec->upstream_done) return;
    s.inbound.erase(rec);
  }
  send(s, PubComp{p.msg_id});
}

void Gateway::on_publish_result(PublishId id, PublishResult result, Millis /*now*/) {
  auto it = id == 0 ? pending_uplinks_.end() : pending_uplinks_.find(id);
  if (it == pending_uplinks_.end()) {
    counters_.inc(Counter::stale_upstream_ack);
    return;
  }
  PendingUplink p = it->second;
  pending_uplinks_.erase(it);
  const bool ok = result != PublishResult::congested;
  if (!ok) counters_.inc(Counter::upstream_congested);
  Session* s = sessions_.find_by_slot(p.slot, p.serial);
  if (!s) return;
  auto rec = std::find_if(s->inbound.begin(), s->inbound.end(),
                          [&](const InboundPublish& r) { return r.msg_id == p.msg_id && r.id == id; });
  if (rec == s->inbound.end()) return;
  std::uint16_t topic_id = rec->topic_id;
  if (rec->qos == 2 && !ok) note_change(*s);  // a kept QoS 2 id goes (QoS 1 records are not kept)
  if (rec->qos == 1 || !ok) {
    s->inbound.erase(rec);
    if (s->connected())
      send(*s, PubAck{topic_id, p.msg_id, ok ? ReturnCode::accepted : ReturnCode::congestion});
    return;
  }
  rec->upstream_done = true;
  if (s->connected()) send(*s, PubRec{p.msg_id});
}

}  // namespace mqttsn
