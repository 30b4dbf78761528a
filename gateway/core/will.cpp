// Will updates while connected (WILLTOPICUPD / WILLMSGUPD, spec 4.10) and will publication when a
// client is lost. An aggregating gateway publishes the stored will itself, with its QoS and retain.
#include "gateway.hpp"
#include "log.hpp"

namespace mqttsn {

void Gateway::handle_will_topic_upd(Session& s, const WillTopicUpd& w) {
  if (w.empty) {
    // The empty form deletes the will topic and the will message.
    s.will.reset();
    send(s, WillTopicResp{ReturnCode::accepted});
    return;
  }
  if (!valid_topic_name(w.topic)) {
    counters_.inc(Counter::invalid_topic);
    send(s, WillTopicResp{ReturnCode::not_supported});
    return;
  }
  if (!s.will) s.will = std::make_unique<Will>();
  s.will->topic = std::string(w.topic);
  s.will->qos = w.qos;
  s.will->retain = w.retain;
  if (update_node_will(s, WillUpdate::topic)) return;
  send(s, WillTopicResp{ReturnCode::accepted});
}

void Gateway::handle_will_msg_upd(Session& s, const WillMsgUpd& w) {
  if (w.message.size() > options_.limits.max_payload) {
    counters_.inc(Counter::payload_too_large);
    send(s, WillMsgResp{ReturnCode::not_supported});
    return;
  }
  if (!s.will) s.will = std::make_unique<Will>();  // message first, topic later: both allowed
  s.will->message.assign(w.message.begin(), w.message.end());
  if (update_node_will(s, WillUpdate::message)) return;
  send(s, WillMsgResp{ReturnCode::accepted});
}

// On a node's own connection the broker holds the will: it takes a new connection to change it
// (MQTT 3.1.1 has no will update). The answer waits for the broker's CONNACK (on_node_connack).
bool Gateway::update_node_will(Session& s, WillUpdate what) {
  if (!s.per_node || !s.upstream_open || s.state == ClientState::connecting) return false;
  // An update superseded by the next one is answered now: the next connection carries both.
  answer_will_update(s, ReturnCode::accepted);
  s.will_update = what;
  out_.node_connect(Outputs::NodeConnect{s.client_id, s.clean_session, s.keep_alive_s,
                                         s.will && !s.will->topic.empty() ? s.will.get() : nullptr, true});
  return true;
}

void Gateway::answer_will_update(Session& s, ReturnCode rc) {
  const WillUpdate what = s.will_update;
  s.will_update = WillUpdate::none;
  if (what == WillUpdate::topic) send(s, WillTopicResp{rc});
  if (what == WillUpdate::message) send(s, WillMsgResp{rc});
}

void Gateway::publish_will(Session& s) {
  if (!s.will || s.will->topic.empty()) return;
  // The policy is asked at publication time, so a reloaded ACL applies to wills stored earlier.
  if (!policy_->may_publish(s.client_id, s.will->topic)) {
    counters_.inc(Counter::denied_publish);
    return;
  }
  counters_.inc(Counter::wills_published);
  MQTTSN_LOG(info, "publishing will of %s on %s", s.client_id.c_str(), s.will->topic.c_str());
  // Id 0: no result is wanted, there is no client left to acknowledge; the upstream counts drops.
  out_.publish(0, s.client_id, s.will->topic, Bytes(s.will->message.data(), s.will->message.size()),
               s.will->qos, s.will->retain);
  s.will.reset();
}

}  // namespace mqttsn
