#include "gateway/core/describe.hpp"

#include <cstdio>
#include <string_view>
#include <type_traits>

#include "gateway/core/codec.hpp"
#include "gateway/core/codec_wire.hpp"

namespace mqttsn {

std::string hex(std::uint64_t value, int digits) {
  char b[24];
  std::snprintf(b, sizeof b, "%0*llX", digits, static_cast<unsigned long long>(value));
  return b;
}

std::string hex(std::span<const std::uint8_t> bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (std::uint8_t c : bytes) out += hex(c, 2);
  return out;
}

std::string hex(std::string_view bytes) {
  return hex(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

namespace {

std::string hex2(unsigned v) {
  char b[8];
  std::snprintf(b, sizeof b, "0x%02X", v & 0xFF);
  return b;
}
std::string hex4(unsigned v) {
  char b[8];
  std::snprintf(b, sizeof b, "0x%04X", v & 0xFFFF);
  return b;
}
std::string octet(std::uint8_t v) {
  char b[4];
  std::snprintf(b, sizeof b, "%02X", v);
  return b;
}

std::string quoted(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

// Printable text as "text"; a long run 00 01 02 ... as seq[first..last] (n bytes); anything else hex[..].
std::string data(Bytes b) {
  bool printable = true;
  for (auto c : b) printable = printable && c >= 0x20 && c < 0x7F && c != '"';
  if (printable) return quoted({reinterpret_cast<const char*>(b.data()), b.size()});
  bool sequence = b.size() >= 16;
  for (std::size_t i = 1; sequence && i < b.size(); ++i)
    sequence = b[i] == static_cast<std::uint8_t>(b[i - 1] + 1);
  if (sequence)
    return "seq[" + octet(b.front()) + ".." + octet(b.back()) + "] (" + std::to_string(b.size()) + " bytes)";
  std::string out = "hex[";
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (i) out += ' ';
    out += octet(b[i]);
  }
  return out + "]";
}

std::string rc(ReturnCode c) {
  const auto v = static_cast<unsigned>(c);
  const char* names[] = {"accepted", "congestion", "invalid topic id", "not supported"};
  return "rc=" + hex2(v) + "(" + (v < 4 ? names[v] : "reserved") + ")";
}

std::string qos_name(QoS q) {
  return q < 0 ? "QoS-1" : "QoS" + std::to_string(q);
}
std::string flags(std::uint8_t value, const std::string& names) {
  return "flags=" + hex2(value) + "(" + names + ")";
}

const char* publish_topic_type(TopicIdType t) {
  switch (t) {
    case TopicIdType::normal:
      return "normal";
    case TopicIdType::predefined:
      return "predefined";
    case TopicIdType::short_name:
      return "short";
  }
  return "reserved";
}
const char* subscription_topic_type(TopicIdType t) {
  return t == TopicIdType::normal ? "name" : publish_topic_type(t);
}

std::string short_topic(std::uint16_t id) {
  const char s[2] = {static_cast<char>(id >> 8), static_cast<char>(id & 0xFF)};
  return "ShortTopic=" + quoted({s, 2});
}
// The topic part of PUBLISH/SUBSCRIBE/UNSUBSCRIBE.
std::string topic_id_field(TopicIdType t, std::uint16_t id) {
  return t == TopicIdType::short_name ? short_topic(id) : "TopicId=" + hex4(id);
}

using namespace wire;

std::uint8_t bits(QoS q) {
  return qos_to_bits(q);
}

std::string fields(const Advertise& m) {
  return "GwId=" + std::to_string(m.gw_id) + " Duration=" + std::to_string(m.duration);
}
std::string fields(const SearchGw& m) {
  return "Radius=" + std::to_string(m.radius);
}
std::string fields(const GwInfo& m) {
  return "GwId=" + std::to_string(m.gw_id) + (m.gw_address.empty() ? "" : " GwAdd=" + data(m.gw_address));
}
std::string fields(const Connect& m) {
  std::string names = m.will ? "Will" : "";
  if (m.clean_session) names += names.empty() ? "Clean" : ",Clean";
  const auto value = static_cast<std::uint8_t>((m.will ? kWill : 0) | (m.clean_session ? kCleanSession : 0));
  return flags(value, names.empty() ? "none" : names) + " ProtocolId=" + hex2(m.protocol_id) +
         " Duration=" + std::to_string(m.duration) + " ClientId=" + quoted(m.client_id);
}
std::string fields(const ConnAck& m) {
  return rc(m.rc);
}
template <class T>
std::string will_topic(const T& m) {
  if (m.empty) return "(empty: delete Will topic+msg)";
  const auto value = static_cast<std::uint8_t>(bits(m.qos) | (m.retain ? kRetain : 0));
  return flags(value, qos_name(m.qos) + (m.retain ? ",Retain" : "")) + " WillTopic=" + quoted(m.topic);
}
std::string fields(const WillTopic& m) {
  return will_topic(m);
}
std::string fields(const WillMsg& m) {
  return "WillMsg=" + data(m.message);
}
std::string fields(const Register& m) {
  return "TopicId=" + hex4(m.topic_id) + " MsgId=" + hex4(m.msg_id) + " TopicName=" + quoted(m.topic_name);
}
std::string fields(const RegAck& m) {
  return "TopicId=" + hex4(m.topic_id) + " MsgId=" + hex4(m.msg_id) + " " + rc(m.rc);
}
std::string fields(const Publish& m) {
  const auto value = static_cast<std::uint8_t>((m.dup ? kDup : 0) | bits(m.qos) | (m.retain ? kRetain : 0) |
                                               static_cast<std::uint8_t>(m.topic_id_type));
  const std::string names = std::string(m.dup ? "DUP," : "") + qos_name(m.qos) +
                            (m.retain ? ",Retain," : ",") + publish_topic_type(m.topic_id_type);
  return flags(value, names) + " " + topic_id_field(m.topic_id_type, m.topic_id) +
         " MsgId=" + hex4(m.msg_id) + " Data=" + data(m.data);
}
std::string fields(const PubAck& m) {
  return "TopicId=" + hex4(m.topic_id) + " MsgId=" + hex4(m.msg_id) + " " + rc(m.rc);
}
std::string fields(const PubRec& m) {
  return "MsgId=" + hex4(m.msg_id);
}
std::string fields(const PubRel& m) {
  return "MsgId=" + hex4(m.msg_id);
}
std::string fields(const PubComp& m) {
  return "MsgId=" + hex4(m.msg_id);
}
template <class T>
std::string subscription_topic(const T& m) {
  if (m.topic_id_type == TopicIdType::normal) return "TopicName=" + quoted(m.topic_name);
  return topic_id_field(m.topic_id_type, m.topic_id);
}
std::string fields(const Subscribe& m) {
  const auto value = static_cast<std::uint8_t>((m.dup ? kDup : 0) | bits(m.qos) |
                                               static_cast<std::uint8_t>(m.topic_id_type));
  const std::string names =
      std::string(m.dup ? "DUP," : "") + qos_name(m.qos) + "," + subscription_topic_type(m.topic_id_type);
  return flags(value, names) + " MsgId=" + hex4(m.msg_id) + " " + subscription_topic(m);
}
std::string fields(const SubAck& m) {
  return flags(bits(m.qos), qos_name(m.qos)) + " TopicId=" + hex4(m.topic_id) + " MsgId=" + hex4(m.msg_id) +
         " " + rc(m.rc);
}
std::string fields(const Unsubscribe& m) {
  return flags(static_cast<std::uint8_t>(m.topic_id_type), subscription_topic_type(m.topic_id_type)) +
         " MsgId=" + hex4(m.msg_id) + " " + subscription_topic(m);
}
std::string fields(const UnsubAck& m) {
  return "MsgId=" + hex4(m.msg_id);
}
std::string fields(const PingReq& m) {
  return m.client_id.empty() ? "" : "ClientId=" + quoted(m.client_id);
}
std::string fields(const Disconnect& m) {
  return m.duration ? "Duration=" + std::to_string(*m.duration) : "";
}
std::string fields(const WillTopicUpd& m) {
  return will_topic(m);
}
std::string fields(const WillTopicResp& m) {
  return rc(m.rc);
}
std::string fields(const WillMsgUpd& m) {
  return "WillMsg=" + data(m.message);
}
std::string fields(const WillMsgResp& m) {
  return rc(m.rc);
}
std::string fields(const Encapsulated& m) {
  return "Ctrl=" + hex2(m.ctrl) + "(radius=" + std::to_string(m.ctrl & 0x03) + ") NodeId=" + data(m.node_id) +
         " :: " + describe(m.inner);
}
template <class T>
std::string fields(const T&) {  // messages without fields: WILLTOPICREQ, WILLMSGREQ, PINGRESP
  return "";
}

}  // namespace

std::string describe(std::span<const std::uint8_t> datagram) {
  const DecodeResult r = decode(datagram);
  if (!r) return std::string("error: ") + to_string(r.error().kind);
  const bool long_form = datagram[0] == kLongFormMarker;
  const unsigned length = long_form ? be16(datagram[1], datagram[2]) : datagram[0];
  std::string out = std::string(to_string(type_of(r.message()))) + " len=" + std::to_string(length);
  if (long_form) out += " (3-byte length)";
  const std::string f = std::visit([](const auto& m) { return fields(m); }, r.message());
  if (!f.empty()) {
    out += ' ';
    out += f;
  }
  return out;
}

}  // namespace mqttsn
