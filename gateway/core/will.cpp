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
  send(s, WillMsgResp{ReturnCode::accepted});
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
