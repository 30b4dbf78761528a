// encode() / encoded_size(): Message -> bytes in the caller's buffer. No heap allocation. The encoder
// refuses (field_out_of_range) anything decode() would reject, so encode-then-decode always succeeds:
// ClientId outside 1..23 (CONNECT) or over 23 (PINGREQ), ProtocolId other than 0x01, QoS outside
// 0..2 (-1 allowed only in PUBLISH with a predefined or short topic id), a TopicIdType outside 0..2,
// a total over 65535 octets, and an encapsulation whose node id exceeds 252 octets or whose inner
// message is empty or itself encapsulated. Short Length form whenever the total fits in 255 octets.
#include <cstring>
#include <type_traits>

#include "gateway/core/codec.hpp"
#include "gateway/core/codec_wire.hpp"

namespace mqttsn {
namespace {

using namespace wire;

// Writes into a buffer whose size the caller has already checked against encoded_size().
class Writer {
 public:
  explicit Writer(std::uint8_t* out) : out_(out) {}
  void u8(std::uint8_t v) { out_[pos_++] = v; }
  void u16(std::uint16_t v) {
    u8(static_cast<std::uint8_t>(v >> 8));
    u8(static_cast<std::uint8_t>(v & 0xFF));
  }
  void rc(ReturnCode c) { u8(static_cast<std::uint8_t>(c)); }
  void bytes(Bytes b) {
    if (!b.empty()) std::memcpy(out_ + pos_, b.data(), b.size());
    pos_ += b.size();
  }
  void str(std::string_view s) { bytes(Bytes(reinterpret_cast<const std::uint8_t*>(s.data()), s.size())); }
  std::size_t size() const { return pos_; }

 private:
  std::uint8_t* out_;
  std::size_t pos_ = 0;
};

bool valid_qos(QoS q) {
  return q >= 0 && q <= 2;
}
bool valid_topic_id_type(TopicIdType t) {
  return static_cast<std::uint8_t>(t) < kReservedTopicIdType;
}
std::uint8_t topic_id_type_bits(TopicIdType t) {
  return static_cast<std::uint8_t>(t);
}

// Octets after MsgType, per message.
std::size_t body_size(const Advertise&) {
  return 3;
}
std::size_t body_size(const SearchGw&) {
  return 1;
}
std::size_t body_size(const GwInfo& m) {
  return 1 + m.gw_address.size();
}
std::size_t body_size(const Connect& m) {
  return 4 + m.client_id.size();
}
std::size_t body_size(const ConnAck&) {
  return 1;
}
std::size_t body_size(const WillTopicReq&) {
  return 0;
}
std::size_t body_size(const WillTopic& m) {
  return m.empty ? 0 : 1 + m.topic.size();
}
std::size_t body_size(const WillMsgReq&) {
  return 0;
}
std::size_t body_size(const WillMsg& m) {
  return m.message.size();
}
std::size_t body_size(const Register& m) {
  return 4 + m.topic_name.size();
}
std::size_t body_size(const RegAck&) {
  return 5;
}
std::size_t body_size(const Publish& m) {
  return 5 + m.data.size();
}
std::size_t body_size(const PubAck&) {
  return 5;
}
std::size_t body_size(const PubRec&) {
  return 2;
}
std::size_t body_size(const PubRel&) {
  return 2;
}
std::size_t body_size(const PubComp&) {
  return 2;
}
std::size_t body_size(const Subscribe& m) {
  return 3 + (m.topic_id_type == TopicIdType::normal ? m.topic_name.size() : 2);
}
std::size_t body_size(const SubAck&) {
  return 6;
}
std::size_t body_size(const Unsubscribe& m) {
  return 3 + (m.topic_id_type == TopicIdType::normal ? m.topic_name.size() : 2);
}
std::size_t body_size(const UnsubAck&) {
  return 2;
}
std::size_t body_size(const PingReq& m) {
  return m.client_id.size();
}
std::size_t body_size(const PingResp&) {
  return 0;
}
std::size_t body_size(const Disconnect& m) {
  return m.duration ? 2 : 0;
}
std::size_t body_size(const WillTopicUpd& m) {
  return m.empty ? 0 : 1 + m.topic.size();
}
std::size_t body_size(const WillTopicResp&) {
  return 1;
}
std::size_t body_size(const WillMsgUpd& m) {
  return m.message.size();
}
std::size_t body_size(const WillMsgResp&) {
  return 1;
}

// Field checks beyond the size (which encode() checks for every type).
template <class T>
bool valid(const T&) {
  return true;
}
bool valid(const Connect& m) {
  return m.protocol_id == kProtocolId && !m.client_id.empty() && m.client_id.size() <= kMaxClientId;
}
bool valid(const WillTopic& m) {
  return m.empty || valid_qos(m.qos);
}
bool valid(const WillTopicUpd& m) {
  return m.empty || valid_qos(m.qos);
}
bool valid(const Publish& m) {
  if (!valid_topic_id_type(m.topic_id_type)) return false;
  if (m.qos == -1) return m.topic_id_type != TopicIdType::normal;
  return valid_qos(m.qos);
}
bool valid(const Subscribe& m) {
  return valid_qos(m.qos) && valid_topic_id_type(m.topic_id_type);
}
bool valid(const SubAck& m) {
  return valid_qos(m.qos);
}
bool valid(const Unsubscribe& m) {
  return valid_topic_id_type(m.topic_id_type);
}
bool valid(const PingReq& m) {
  return m.client_id.size() <= kMaxClientId;
}

void write_body(Writer& w, const Advertise& m) {
  w.u8(m.gw_id);
  w.u16(m.duration);
}
void write_body(Writer& w, const SearchGw& m) {
  w.u8(m.radius);
}
void write_body(Writer& w, const GwInfo& m) {
  w.u8(m.gw_id);
  w.bytes(m.gw_address);
}
void write_body(Writer& w, const Connect& m) {
  w.u8(static_cast<std::uint8_t>((m.will ? kWill : 0) | (m.clean_session ? kCleanSession : 0)));
  w.u8(m.protocol_id);
  w.u16(m.duration);
  w.str(m.client_id);
}
void write_body(Writer& w, const ConnAck& m) {
  w.rc(m.rc);
}
void write_body(Writer&, const WillTopicReq&) {}
template <class T>
void write_will_topic(Writer& w, const T& m) {
  if (m.empty) return;
  w.u8(static_cast<std::uint8_t>(qos_to_bits(m.qos) | (m.retain ? kRetain : 0)));
  w.str(m.topic);
}
void write_body(Writer& w, const WillTopic& m) {
  write_will_topic(w, m);
}
void write_body(Writer&, const WillMsgReq&) {}
void write_body(Writer& w, const WillMsg& m) {
  w.bytes(m.message);
}
void write_body(Writer& w, const Register& m) {
  w.u16(m.topic_id);
  w.u16(m.msg_id);
  w.str(m.topic_name);
}
void write_body(Writer& w, const RegAck& m) {
  w.u16(m.topic_id);
  w.u16(m.msg_id);
  w.rc(m.rc);
}
void write_body(Writer& w, const Publish& m) {
  w.u8(static_cast<std::uint8_t>((m.dup ? kDup : 0) | qos_to_bits(m.qos) | (m.retain ? kRetain : 0) |
                                 topic_id_type_bits(m.topic_id_type)));
  w.u16(m.topic_id);
  w.u16(m.msg_id);
  w.bytes(m.data);
}
void write_body(Writer& w, const PubAck& m) {
  w.u16(m.topic_id);
  w.u16(m.msg_id);
  w.rc(m.rc);
}
void write_body(Writer& w, const PubRec& m) {
  w.u16(m.msg_id);
}
void write_body(Writer& w, const PubRel& m) {
  w.u16(m.msg_id);
}
void write_body(Writer& w, const PubComp& m) {
  w.u16(m.msg_id);
}
template <class T>
void write_subscription(Writer& w, const T& m, std::uint8_t flags) {
  w.u8(static_cast<std::uint8_t>(flags | topic_id_type_bits(m.topic_id_type)));
  w.u16(m.msg_id);
  if (m.topic_id_type == TopicIdType::normal)
    w.str(m.topic_name);
  else
    w.u16(m.topic_id);
}
void write_body(Writer& w, const Subscribe& m) {
  write_subscription(w, m, static_cast<std::uint8_t>((m.dup ? kDup : 0) | qos_to_bits(m.qos)));
}
void write_body(Writer& w, const SubAck& m) {
  w.u8(qos_to_bits(m.qos));
  w.u16(m.topic_id);
  w.u16(m.msg_id);
  w.rc(m.rc);
}
void write_body(Writer& w, const Unsubscribe& m) {
  write_subscription(w, m, 0);
}
void write_body(Writer& w, const UnsubAck& m) {
  w.u16(m.msg_id);
}
void write_body(Writer& w, const PingReq& m) {
  w.str(m.client_id);
}
void write_body(Writer&, const PingResp&) {}
void write_body(Writer& w, const Disconnect& m) {
  if (m.duration) w.u16(*m.duration);
}
void write_body(Writer& w, const WillTopicUpd& m) {
  write_will_topic(w, m);
}
void write_body(Writer& w, const WillTopicResp& m) {
  w.rc(m.rc);
}
void write_body(Writer& w, const WillMsgUpd& m) {
  w.bytes(m.message);
}
void write_body(Writer& w, const WillMsgResp& m) {
  w.rc(m.rc);
}

std::size_t encapsulated_size(const Encapsulated& m) {
  return kEncapFixedHeader + m.node_id.size() + m.inner.size();
}

bool valid(const Encapsulated& m) {
  return m.node_id.size() <= kMaxNodeId && !m.inner.empty() &&
         peek_type(m.inner.data(), m.inner.size()) != static_cast<int>(MsgType::encapsulated);
}

EncodeResult encode_encapsulated(const Encapsulated& m, std::span<std::uint8_t> out) {
  if (!valid(m)) return {0, EncodeError::field_out_of_range};
  const std::size_t total = encapsulated_size(m);
  if (out.size() < total) return {0, EncodeError::buffer_too_small};
  Writer w(out.data());
  w.u8(static_cast<std::uint8_t>(kEncapFixedHeader + m.node_id.size()));  // counts the header only
  w.u8(static_cast<std::uint8_t>(MsgType::encapsulated));
  w.u8(m.ctrl);
  w.bytes(m.node_id);
  w.bytes(m.inner);
  return {w.size(), EncodeError::none};
}

template <class T>
EncodeResult encode_one(const T& m, MsgType type, std::span<std::uint8_t> out) {
  if constexpr (std::is_same_v<T, Encapsulated>) {
    return encode_encapsulated(m, out);
  } else {
    const std::size_t body = 1 + body_size(m);  // MsgType included
    const std::size_t total = total_length_for_body(body);
    if (!valid(m) || total > kMaxTotal) return {0, EncodeError::field_out_of_range};
    if (out.size() < total) return {0, EncodeError::buffer_too_small};
    Writer w(out.data());
    if (total <= kMaxShortTotal) {
      w.u8(static_cast<std::uint8_t>(total));
    } else {
      w.u8(kLongFormMarker);
      w.u16(static_cast<std::uint16_t>(total));
    }
    w.u8(static_cast<std::uint8_t>(type));
    write_body(w, m);
    return {w.size(), EncodeError::none};
  }
}

}  // namespace

EncodeResult encode(const Message& m, std::span<std::uint8_t> out) {
  const MsgType type = type_of(m);
  return std::visit([&](const auto& v) { return encode_one(v, type, out); }, m);
}

std::size_t encoded_size(const Message& m) {
  return std::visit(
      [](const auto& v) -> std::size_t {
        if constexpr (std::is_same_v<std::decay_t<decltype(v)>, Encapsulated>)
          return encapsulated_size(v);
        else
          return total_length_for_body(1 + body_size(v));
      },
      m);
}

}  // namespace mqttsn
