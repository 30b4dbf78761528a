// Topic registration (spec 4.4). Client REGISTER: an id from the client's own table, the same id
// for the same name. Gateway REGISTER (wildcard matches, ids the client does not know): sent
// before the PUBLISH that needs it, which waits for the REGACK; an error REGACK means the client
// refuses that topic, handled as an unsubscribe of that one topic name.
#include <algorithm>

#include "gateway.hpp"

namespace mqttsn {

void Gateway::handle_register(Session& s, const Register& r) {
  if (!valid_topic_name(r.topic_name)) {
    counters_.inc(Counter::invalid_topic);
    send(s, RegAck{kNoTopicId, r.msg_id, ReturnCode::not_supported});
    return;
  }
  if (const TopicMapping* m = s.registry.find_name(r.topic_name)) {
    send(s, RegAck{m->id, r.msg_id, ReturnCode::accepted});
    return;
  }
  auto id = s.registry.add(topics_.intern(r.topic_name), true, options_.limits.topic_ids_per_client);
  if (!id) {
    counters_.inc(Counter::topic_id_limit);
    send(s, RegAck{kNoTopicId, r.msg_id, ReturnCode::congestion});
    return;
  }
  send(s, RegAck{*id, r.msg_id, ReturnCode::accepted});
}

bool Gateway::start_register(Session& s, const TopicRef& topic, Millis now) {
  auto id = s.registry.add(topic, false, options_.limits.topic_ids_per_client);
  if (!id) return false;
  Register reg{*id, s.take_msg_id(), topic.view()};
  if (wire_size(s, reg) > downlink_limit(s)) {
    s.registry.erase(*id);
    return false;
  }
  if (!s.outbox) s.outbox = std::make_unique<Outbox>(buffered_bytes_);
  s.outbox->registering.push_back(OutboundRegister{topic, *id, reg.msg_id, 0, now + options_.retry_interval});
  send(s, reg);
  return true;
}

void Gateway::handle_regack(Session& s, const RegAck& r, Millis now) {
  if (!s.outbox) {
    counters_.inc(Counter::stale_client_ack);
    return;
  }
  Outbox* ob = s.outbox.get();
  auto it = std::find_if(ob->registering.begin(), ob->registering.end(),
                         [&](const OutboundRegister& o) { return o.msg_id == r.msg_id; });
  if (it == ob->registering.end()) {
    counters_.inc(Counter::stale_client_ack);
    return;
  }
  TopicRef topic = it->topic;
  std::uint16_t id = it->topic_id;
  ob->registering.erase(it);
  if (r.rc == ReturnCode::accepted) {
    s.registry.confirm(id);
  } else {
    // Spec 4.4: the client rejects that topic: drop its messages and stop sending it, as if it had
    // unsubscribed from that one name (its wildcard filter stays).
    counters_.inc(Counter::register_rejected);
    s.registry.erase(id);
    if (std::find(s.rejected_topics.begin(), s.rejected_topics.end(), topic) == s.rejected_topics.end())
      s.rejected_topics.push_back(topic);
    drop_queued_topic(s, topic, Counter::dropped_register_rejected);
  }
  release_outbox_if_empty(s);
  pump(s, now);
}

}  // namespace mqttsn
