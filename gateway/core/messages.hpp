#pragma once
// Every MQTT-SN 1.2 message as a plain struct. Decoded messages hold views (string_view / span) into
// the datagram they came from, so decoding never allocates; keep the datagram alive while you use one.
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <variant>

namespace mqttsn {

using Bytes = std::span<const std::uint8_t>;

enum class MsgType : std::uint8_t {
  advertise = 0x00,
  searchgw = 0x01,
  gwinfo = 0x02,
  connect = 0x04,
  connack = 0x05,
  willtopicreq = 0x06,
  willtopic = 0x07,
  willmsgreq = 0x08,
  willmsg = 0x09,
  reg = 0x0A,  // REGISTER ("register" is a C++ keyword)
  regack = 0x0B,
  publish = 0x0C,
  puback = 0x0D,
  pubcomp = 0x0E,
  pubrec = 0x0F,
  pubrel = 0x10,
  subscribe = 0x12,
  suback = 0x13,
  unsubscribe = 0x14,
  unsuback = 0x15,
  pingreq = 0x16,
  pingresp = 0x17,
  disconnect = 0x18,
  willtopicupd = 0x1A,
  willtopicresp = 0x1B,
  willmsgupd = 0x1C,
  willmsgresp = 0x1D,
  encapsulated = 0xFE,
};

const char* to_string(MsgType t);

enum class ReturnCode : std::uint8_t {
  accepted = 0x00,
  congestion = 0x01,
  invalid_topic_id = 0x02,
  not_supported = 0x03,
};

enum class TopicIdType : std::uint8_t {
  normal = 0,  // registered id (PUBLISH) / topic name (SUBSCRIBE, UNSUBSCRIBE)
  predefined = 1,
  short_name = 2,  // two characters carried in the TopicId field
};

// QoS as MQTT-SN carries it: 0, 1, 2, or -1 (only in PUBLISH from a client).
using QoS = std::int8_t;

// Reserved topic ids (never assigned).
inline constexpr std::uint16_t kNoTopicId = 0x0000;
inline constexpr std::uint16_t kReservedTopicId = 0xFFFF;

// Short topic names travel in the 16-bit TopicId field, first character in the high octet.
constexpr std::uint16_t short_topic_id(char a, char b) {
  return static_cast<std::uint16_t>((static_cast<std::uint8_t>(a) << 8) | static_cast<std::uint8_t>(b));
}

struct Advertise {
  std::uint8_t gw_id = 0;
  std::uint16_t duration = 0;
};
struct SearchGw {
  std::uint8_t radius = 0;
};
struct GwInfo {
  std::uint8_t gw_id = 0;
  Bytes gw_address;  // empty when a gateway sends it
};
struct Connect {
  bool will = false;
  bool clean_session = false;
  std::uint8_t protocol_id = 0x01;
  std::uint16_t duration = 0;  // keep-alive, seconds
  std::string_view client_id;  // 1..23 characters
};
struct ConnAck {
  ReturnCode rc = ReturnCode::accepted;
};
struct WillTopicReq {};
struct WillTopic {
  bool empty = false;  // the 2-octet form: no will / delete the will
  QoS qos = 0;
  bool retain = false;
  std::string_view topic;
};
struct WillMsgReq {};
struct WillMsg {
  Bytes message;
};
struct Register {
  std::uint16_t topic_id = 0;
  std::uint16_t msg_id = 0;
  std::string_view topic_name;
};
struct RegAck {
  std::uint16_t topic_id = 0;
  std::uint16_t msg_id = 0;
  ReturnCode rc = ReturnCode::accepted;
};
struct Publish {
  bool dup = false;
  QoS qos = 0;
  bool retain = false;
  TopicIdType topic_id_type = TopicIdType::normal;
  std::uint16_t topic_id = 0;  // for short names: the two characters (see short_topic_id)
  std::uint16_t msg_id = 0;
  Bytes data;
};
struct PubAck {
  std::uint16_t topic_id = 0;
  std::uint16_t msg_id = 0;
  ReturnCode rc = ReturnCode::accepted;
};
struct PubRec {
  std::uint16_t msg_id = 0;
};
struct PubRel {
  std::uint16_t msg_id = 0;
};
struct PubComp {
  std::uint16_t msg_id = 0;
};
// SUBSCRIBE and UNSUBSCRIBE share a layout: a topic name (TopicIdType normal) or a 2-octet id.
struct Subscribe {
  bool dup = false;
  QoS qos = 0;
  TopicIdType topic_id_type = TopicIdType::normal;
  std::uint16_t msg_id = 0;
  std::string_view topic_name;  // when topic_id_type == normal
  std::uint16_t topic_id = 0;   // when predefined or short_name
};
struct SubAck {
  QoS qos = 0;  // granted
  std::uint16_t topic_id = 0;
  std::uint16_t msg_id = 0;
  ReturnCode rc = ReturnCode::accepted;
};
struct Unsubscribe {
  TopicIdType topic_id_type = TopicIdType::normal;
  std::uint16_t msg_id = 0;
  std::string_view topic_name;
  std::uint16_t topic_id = 0;
};
struct UnsubAck {
  std::uint16_t msg_id = 0;
};
struct PingReq {
  std::string_view client_id;  // empty unless a sleeping client wakes
};
struct PingResp {};
struct Disconnect {
  std::optional<std::uint16_t> duration;  // present: the client goes to sleep
};
struct WillTopicUpd {
  bool empty = false;  // the 2-octet form deletes will topic and message
  QoS qos = 0;
  bool retain = false;
  std::string_view topic;
};
struct WillTopicResp {
  ReturnCode rc = ReturnCode::accepted;
};
struct WillMsgUpd {
  Bytes message;
};
struct WillMsgResp {
  ReturnCode rc = ReturnCode::accepted;
};
// Forwarder encapsulation (0xFE). `inner` is the complete embedded MQTT-SN message, still encoded;
// decode it with decode() (an encapsulated message inside another one is rejected).
struct Encapsulated {
  std::uint8_t ctrl = 0;  // bits 1..0: broadcast radius (gateway -> forwarder only)
  Bytes node_id;          // opaque wireless node id, 0..252 octets
  Bytes inner;
};

using Message = std::variant<Advertise, SearchGw, GwInfo, Connect, ConnAck, WillTopicReq, WillTopic,
                             WillMsgReq, WillMsg, Register, RegAck, Publish, PubAck, PubRec, PubRel, PubComp,
                             Subscribe, SubAck, Unsubscribe, UnsubAck, PingReq, PingResp, Disconnect,
                             WillTopicUpd, WillTopicResp, WillMsgUpd, WillMsgResp, Encapsulated>;

MsgType type_of(const Message& m);

}  // namespace mqttsn
