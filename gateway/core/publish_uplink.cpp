// Client -> broker PUBLISH at QoS -1, 0, 1, 2 (spec 4.5, 4.7).
//
// Choices written down here:
// - QoS 1: the PUBACK goes to the client only when the upstream side says `accepted` or later
//   on_upstream_ack(token, true) (end-to-end). on_upstream_ack(token, false) is answered with PUBACK
//   "rejected: congestion": the client backs off T_WAIT and retries, nothing is lost silently.
// - QoS 2: published upstream on PUBLISH receipt (once the broker took it, PUBREC goes out); the msg
//   id is remembered until PUBREL, so a DUP retransmission is not published twice. PUBCOMP answers
//   every PUBREL (also an unknown one: the first PUBCOMP may have been lost).
// - Errors at any QoS (unknown id, denied, too large, congestion) are answered with PUBACK + rc, as
//   the spec allows even for QoS 0; QoS -1 gets no answer, only counters.
#include <algorithm>

#include "gateway.hpp"

namespace mqttsn {

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

  if (p.qos >= 1) {
    auto rec = std::find_if(s.inbound.begin(), s.inbound.end(),
                            [&](const InboundPublish& r) { return r.msg_id == p.msg_id && r.qos == p.qos; });
    if (rec != s.inbound.end()) {
      // A retransmission of a publish we still hold: never published twice. QoS 2 already taken by
      // the broker gets its PUBREC again; otherwise the answer follows the broker's ack.
      counters_.inc(Counter::duplicate_publishes);
      if (p.qos == 2 && rec->upstream_done) send(s, PubRec{p.msg_id});
      return;
    }
    if (s.inbound.size() >= options_.limits.uplink_in_flight_per_client)
      return reject(ReturnCode::congestion, Counter::uplink_in_flight_limit);
  }

  PublishOutcome o = out_.publish(topic, p.data, p.qos, p.retain);
  switch (o.result) {
    case UpstreamAccept::congested:
      return reject(ReturnCode::congestion, Counter::upstream_congested);
    case UpstreamAccept::dropped:
      counters_.inc(Counter::upstream_dropped);
      // QoS 0 may be dropped; a QoS 1/2 the bridge could not keep must not look delivered.
      if (p.qos >= 1) send(s, PubAck{p.topic_id, p.msg_id, ReturnCode::congestion});
      return;
    case UpstreamAccept::accepted:
    case UpstreamAccept::pending:
      break;
  }
  counters_.inc(Counter::publishes_up);
  ++s.msgs_up;
  if (p.qos == 0) return;
  bool done = o.result == UpstreamAccept::accepted;
  if (p.qos == 1 && done) {
    send(s, PubAck{p.topic_id, p.msg_id, ReturnCode::accepted});
    return;
  }
  if (s.inbound.empty()) s.inbound.reserve(2);
  s.inbound.push_back(InboundPublish{p.msg_id, p.topic_id, p.qos, done, o.token});
  if (!done) pending_uplinks_[o.token] = PendingUplink{s.slot, s.serial, p.msg_id};
  if (p.qos == 2 && done) send(s, PubRec{p.msg_id});
}

// Spec 4.5: QoS -1 from a node that may never have connected; only predefined ids and short names
// (the codec already rejects a normal id). A connected sender's own predefined ids apply.
void Gateway::handle_publish_minus1(const PeerRef& peer, const Publish& p) {
  Session* s = find_session(peer);
  if (s && !s->connected()) s = nullptr;
  char short_buf[2];
  std::string_view topic = resolve_topic(s, p.topic_id_type, p.topic_id, short_buf);
  if (topic.empty()) return counters_.inc(Counter::unknown_topic_id);
  if (p.data.size() > options_.limits.max_payload) return counters_.inc(Counter::payload_too_large);
  if (!policy_->may_publish(s ? std::string_view(s->client_id) : std::string_view{}, topic))
    return counters_.inc(Counter::denied_publish);
  PublishOutcome o = out_.publish(topic, p.data, -1, p.retain);
  if (o.result == UpstreamAccept::congested) return counters_.inc(Counter::upstream_congested);
  if (o.result == UpstreamAccept::dropped) return counters_.inc(Counter::upstream_dropped);
  counters_.inc(Counter::qosm1_publishes);
  if (s) ++s->msgs_up;
}

void Gateway::handle_pubrel(Session& s, const PubRel& p) {
  auto rec = std::find_if(s.inbound.begin(), s.inbound.end(),
                          [&](const InboundPublish& r) { return r.msg_id == p.msg_id && r.qos == 2; });
  if (rec != s.inbound.end()) {
    // A PUBREL before our PUBREC cannot be a correct client; wait for the broker and its retry.
    if (!rec->upstream_done) return;
    s.inbound.erase(rec);
  }
  send(s, PubComp{p.msg_id});
}

void Gateway::on_upstream_ack(UpstreamToken token, bool ok, Millis /*now*/) {
  auto it = pending_uplinks_.find(token);
  if (it == pending_uplinks_.end()) {
    counters_.inc(Counter::stale_upstream_ack);
    return;
  }
  PendingUplink p = it->second;
  pending_uplinks_.erase(it);
  if (!ok) counters_.inc(Counter::upstream_rejected);
  Session* s = live(p.slot, p.serial);
  if (!s) return;
  auto rec = std::find_if(s->inbound.begin(), s->inbound.end(),
                          [&](const InboundPublish& r) { return r.msg_id == p.msg_id && r.token == token; });
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
