#include "gateway/core/codec_compare.hpp"

#include <algorithm>
#include <type_traits>

namespace mqttsn {
namespace {

bool same(Bytes a, Bytes b) {
  return std::ranges::equal(a, b);
}

bool same_fields(const Advertise& a, const Advertise& b) {
  return a.gw_id == b.gw_id && a.duration == b.duration;
}
bool same_fields(const SearchGw& a, const SearchGw& b) {
  return a.radius == b.radius;
}
bool same_fields(const GwInfo& a, const GwInfo& b) {
  return a.gw_id == b.gw_id && same(a.gw_address, b.gw_address);
}
bool same_fields(const Connect& a, const Connect& b) {
  return a.will == b.will && a.clean_session == b.clean_session && a.protocol_id == b.protocol_id &&
         a.duration == b.duration && a.client_id == b.client_id;
}
bool same_fields(const ConnAck& a, const ConnAck& b) {
  return a.rc == b.rc;
}
bool same_fields(const WillTopicReq&, const WillTopicReq&) {
  return true;
}
template <class T>
bool same_will_topic(const T& a, const T& b) {
  if (a.empty || b.empty) return a.empty == b.empty;
  return a.qos == b.qos && a.retain == b.retain && a.topic == b.topic;
}
bool same_fields(const WillTopic& a, const WillTopic& b) {
  return same_will_topic(a, b);
}
bool same_fields(const WillMsgReq&, const WillMsgReq&) {
  return true;
}
bool same_fields(const WillMsg& a, const WillMsg& b) {
  return same(a.message, b.message);
}
bool same_fields(const Register& a, const Register& b) {
  return a.topic_id == b.topic_id && a.msg_id == b.msg_id && a.topic_name == b.topic_name;
}
bool same_fields(const RegAck& a, const RegAck& b) {
  return a.topic_id == b.topic_id && a.msg_id == b.msg_id && a.rc == b.rc;
}
bool same_fields(const Publish& a, const Publish& b) {
  return a.dup == b.dup && a.qos == b.qos && a.retain == b.retain && a.topic_id_type == b.topic_id_type &&
         a.topic_id == b.topic_id && a.msg_id == b.msg_id && same(a.data, b.data);
}
bool same_fields(const PubAck& a, const PubAck& b) {
  return a.topic_id == b.topic_id && a.msg_id == b.msg_id && a.rc == b.rc;
}
bool same_fields(const PubRec& a, const PubRec& b) {
  return a.msg_id == b.msg_id;
}
bool same_fields(const PubRel& a, const PubRel& b) {
  return a.msg_id == b.msg_id;
}
bool same_fields(const PubComp& a, const PubComp& b) {
  return a.msg_id == b.msg_id;
}
template <class T>
bool same_topic(const T& a, const T& b) {
  if (a.topic_id_type != b.topic_id_type) return false;
  return a.topic_id_type == TopicIdType::normal ? a.topic_name == b.topic_name : a.topic_id == b.topic_id;
}
bool same_fields(const Subscribe& a, const Subscribe& b) {
  return a.dup == b.dup && a.qos == b.qos && a.msg_id == b.msg_id && same_topic(a, b);
}
bool same_fields(const SubAck& a, const SubAck& b) {
  return a.qos == b.qos && a.topic_id == b.topic_id && a.msg_id == b.msg_id && a.rc == b.rc;
}
bool same_fields(const Unsubscribe& a, const Unsubscribe& b) {
  return a.msg_id == b.msg_id && same_topic(a, b);
}
bool same_fields(const UnsubAck& a, const UnsubAck& b) {
  return a.msg_id == b.msg_id;
}
bool same_fields(const PingReq& a, const PingReq& b) {
  return a.client_id == b.client_id;
}
bool same_fields(const PingResp&, const PingResp&) {
  return true;
}
bool same_fields(const Disconnect& a, const Disconnect& b) {
  return a.duration == b.duration;
}
bool same_fields(const WillTopicUpd& a, const WillTopicUpd& b) {
  return same_will_topic(a, b);
}
bool same_fields(const WillTopicResp& a, const WillTopicResp& b) {
  return a.rc == b.rc;
}
bool same_fields(const WillMsgUpd& a, const WillMsgUpd& b) {
  return same(a.message, b.message);
}
bool same_fields(const WillMsgResp& a, const WillMsgResp& b) {
  return a.rc == b.rc;
}
bool same_fields(const Encapsulated& a, const Encapsulated& b) {
  return a.ctrl == b.ctrl && same(a.node_id, b.node_id) && same(a.inner, b.inner);
}

}  // namespace

bool equivalent(const Message& a, const Message& b) {
  if (a.index() != b.index()) return false;
  return std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        return same_fields(x, std::get<T>(b));
      },
      a);
}

}  // namespace mqttsn
