// decode(): one datagram -> one Message or one typed DecodeError. Total over all inputs: every read is
// bounded by the span, nothing throws and nothing allocates (messages hold views into the datagram).
//
// Decode-error design (checked in this order; the first failing check wins):
//  1. Header. Empty input -> truncated. Length octet 0x00 -> zero_length. 0x01 with fewer than 3
//     octets -> truncated; a 3-octet Length below 4 -> bad_length. No MsgType octet -> truncated.
//  2. Encapsulation (0xFE) is checked here, before the Length/datagram comparison, because its Length
//     covers only its own header: header Length < 3, the 3-octet form (§4.12 defines a 1-octet Len),
//     an empty inner message, or an inner message that is itself 0xFE -> bad_encapsulation. The inner
//     message is NOT decoded here; the caller runs decode() on Encapsulated::inner.
//  3. Datagram shorter than Length -> truncated; longer -> length_mismatch (trailing octets).
//  4. Reserved MsgType -> reserved_type.
//  5. Size for the type, with Length and datagram now known to agree. Length below the type's fixed
//     fields -> too_short. Length above what the type can hold (a fixed-size message with extra
//     octets, DISCONNECT of 3 octets, a SUBSCRIBE by id with more than 2 id octets) -> length_mismatch:
//     the same failure as trailing octets, only detected by the type instead of the datagram size.
//  6. Fields: CONNECT ProtocolId != 0x01 -> bad_protocol_id; TopicIdType 0b11 (PUBLISH, SUBSCRIBE,
//     UNSUBSCRIBE) -> reserved_topic_type; QoS -1 in PUBLISH with a normal topic id ->
//     qos_minus1_topic_type; QoS -1 anywhere else (WILLTOPIC, WILLTOPICUPD, SUBSCRIBE, SUBACK), an
//     empty or over-23-octet CONNECT ClientId, an over-23-octet PINGREQ ClientId -> field_out_of_range.
// Deliberately accepted, left to the session layer (it must answer them, e.g. PUBACK rc 0x02, which
// it cannot do for a message the codec dropped): topic ids 0x0000/0xFFFF, reserved return codes
// 0x04-0xFF (kept as the raw value), empty topic names, wildcards in names, unused flag bits (ignored
// as §2 says, so they do not survive re-encoding).
// DecodeError::offset is the octet where the problem is: the Length/MsgType/field octet at fault, or
// for missing octets the offset where they should have started.
#include <optional>
#include <type_traits>

#include "gateway/core/codec.hpp"
#include "gateway/core/codec_wire.hpp"

namespace mqttsn {
namespace {

using namespace wire;

DecodeResult ok(const Message& m) {
  return DecodeResult(m);
}

DecodeError fail(DecodeErrorKind kind, std::size_t offset, const char* detail) {
  return DecodeError{kind, offset, detail};
}

// Sequential reader over the body (the octets after MsgType). Reads past the end yield zeros instead
// of touching memory; the size rules below make sure that never happens in practice.
class Reader {
 public:
  Reader(Bytes body, std::size_t base) : body_(body), base_(base) {}
  std::size_t remaining() const { return body_.size() - pos_; }
  std::size_t offset() const { return base_ + pos_; }
  std::uint8_t u8() { return pos_ < body_.size() ? body_[pos_++] : std::uint8_t{0}; }
  std::uint16_t u16() {
    const std::uint8_t hi = u8();
    return be16(hi, u8());
  }
  ReturnCode rc() { return static_cast<ReturnCode>(u8()); }
  Bytes rest() {
    const Bytes r = body_.subspan(pos_);
    pos_ = body_.size();
    return r;
  }
  std::string_view rest_string() {
    const Bytes r = rest();
    return {reinterpret_cast<const char*>(r.data()), r.size()};
  }

 private:
  Bytes body_;
  std::size_t base_;
  std::size_t pos_ = 0;
};

// Body sizes (octets after MsgType) each type allows; the texts use short-form totals as §1.3 does.
struct SizeRule {
  std::size_t min;
  std::size_t max;
  const char* too_short;
  const char* too_long;
};
constexpr std::size_t kUnbounded = kMaxTotal;

std::optional<SizeRule> size_rule(std::uint8_t type) {
  switch (static_cast<MsgType>(type)) {
    case MsgType::advertise:
      return SizeRule{3, 3, "ADVERTISE needs 5 octets", "ADVERTISE is 5 octets"};
    case MsgType::searchgw:
      return SizeRule{1, 1, "SEARCHGW needs 3 octets", "SEARCHGW is 3 octets"};
    case MsgType::gwinfo:
      return SizeRule{1, kUnbounded, "GWINFO needs at least 3 octets", ""};
    case MsgType::connect:
      return SizeRule{4, kUnbounded, "CONNECT needs at least 6 octets before ClientId", ""};
    case MsgType::connack:
      return SizeRule{1, 1, "CONNACK needs 3 octets", "CONNACK is 3 octets"};
    case MsgType::willtopicreq:
      return SizeRule{0, 0, "", "WILLTOPICREQ is 2 octets"};
    case MsgType::willtopic:
      return SizeRule{0, kUnbounded, "", ""};
    case MsgType::willmsgreq:
      return SizeRule{0, 0, "", "WILLMSGREQ is 2 octets"};
    case MsgType::willmsg:
      return SizeRule{0, kUnbounded, "", ""};
    case MsgType::reg:
      return SizeRule{4, kUnbounded, "REGISTER needs at least 6 octets", ""};
    case MsgType::regack:
      return SizeRule{5, 5, "REGACK needs 7 octets", "REGACK is 7 octets"};
    case MsgType::publish:
      return SizeRule{5, kUnbounded, "PUBLISH needs at least 7 octets", ""};
    case MsgType::puback:
      return SizeRule{5, 5, "PUBACK needs 7 octets", "PUBACK is 7 octets"};
    case MsgType::pubcomp:
      return SizeRule{2, 2, "PUBCOMP needs 4 octets", "PUBCOMP is 4 octets"};
    case MsgType::pubrec:
      return SizeRule{2, 2, "PUBREC needs 4 octets", "PUBREC is 4 octets"};
    case MsgType::pubrel:
      return SizeRule{2, 2, "PUBREL needs 4 octets", "PUBREL is 4 octets"};
    case MsgType::subscribe:
      return SizeRule{3, kUnbounded, "SUBSCRIBE needs at least 5 octets", ""};
    case MsgType::suback:
      return SizeRule{6, 6, "SUBACK needs 8 octets", "SUBACK is 8 octets"};
    case MsgType::unsubscribe:
      return SizeRule{3, kUnbounded, "UNSUBSCRIBE needs at least 5 octets", ""};
    case MsgType::unsuback:
      return SizeRule{2, 2, "UNSUBACK needs 4 octets", "UNSUBACK is 4 octets"};
    case MsgType::pingreq:
      return SizeRule{0, kUnbounded, "", ""};
    case MsgType::pingresp:
      return SizeRule{0, 0, "", "PINGRESP is 2 octets"};
    case MsgType::disconnect:
      return SizeRule{0, 2, "", "DISCONNECT is 2 or 4 octets"};
    case MsgType::willtopicupd:
      return SizeRule{0, kUnbounded, "", ""};
    case MsgType::willtopicresp:
      return SizeRule{1, 1, "WILLTOPICRESP needs 3 octets", "WILLTOPICRESP is 3 octets"};
    case MsgType::willmsgupd:
      return SizeRule{0, kUnbounded, "", ""};
    case MsgType::willmsgresp:
      return SizeRule{1, 1, "WILLMSGRESP needs 3 octets", "WILLMSGRESP is 3 octets"};
    case MsgType::encapsulated:
      break;  // handled before the size rules
  }
  return std::nullopt;  // reserved
}

DecodeResult decode_connect(Reader& r) {
  const std::uint8_t flags = r.u8();
  const std::size_t protocol_at = r.offset();
  Connect m;
  m.will = (flags & kWill) != 0;
  m.clean_session = (flags & kCleanSession) != 0;
  m.protocol_id = r.u8();
  if (m.protocol_id != kProtocolId)
    return fail(DecodeErrorKind::bad_protocol_id, protocol_at, "CONNECT ProtocolId must be 0x01");
  m.duration = r.u16();
  const std::size_t client_at = r.offset();
  m.client_id = r.rest_string();
  if (m.client_id.empty() || m.client_id.size() > kMaxClientId)
    return fail(DecodeErrorKind::field_out_of_range, client_at, "CONNECT ClientId must be 1..23 octets");
  return ok(m);
}

// WILLTOPIC and WILLTOPICUPD share a layout, including the 2-octet empty form (handled first:
// Paho reads Flags past the end of it).
template <class T>
DecodeResult decode_will_topic(Reader& r) {
  T m;
  if (r.remaining() == 0) {
    m.empty = true;
    return ok(m);
  }
  const std::size_t flags_at = r.offset();
  const std::uint8_t flags = r.u8();
  m.qos = qos_from_bits(flags);
  if (m.qos < 0) return fail(DecodeErrorKind::field_out_of_range, flags_at, "Will QoS -1 is not defined");
  m.retain = (flags & kRetain) != 0;
  m.topic = r.rest_string();
  return ok(m);
}

DecodeResult decode_publish(Reader& r) {
  const std::size_t flags_at = r.offset();
  const std::uint8_t flags = r.u8();
  if ((flags & kTopicIdTypeMask) == kReservedTopicIdType)
    return fail(DecodeErrorKind::reserved_topic_type, flags_at, "TopicIdType 0b11 is reserved");
  Publish m;
  m.dup = (flags & kDup) != 0;
  m.qos = qos_from_bits(flags);
  m.retain = (flags & kRetain) != 0;
  m.topic_id_type = static_cast<TopicIdType>(flags & kTopicIdTypeMask);
  if (m.qos < 0 && m.topic_id_type == TopicIdType::normal)
    return fail(DecodeErrorKind::qos_minus1_topic_type, flags_at,
                "QoS -1 needs a predefined or short topic id");
  m.topic_id = r.u16();
  m.msg_id = r.u16();
  m.data = r.rest();
  return ok(m);
}

// SUBSCRIBE and UNSUBSCRIBE: Flags MsgId, then a topic name or exactly 2 id octets.
template <class T>
DecodeResult decode_subscription(Reader& r, const char* id_too_short, const char* id_too_long) {
  const std::size_t flags_at = r.offset();
  const std::uint8_t flags = r.u8();
  if ((flags & kTopicIdTypeMask) == kReservedTopicIdType)
    return fail(DecodeErrorKind::reserved_topic_type, flags_at, "TopicIdType 0b11 is reserved");
  T m;
  m.topic_id_type = static_cast<TopicIdType>(flags & kTopicIdTypeMask);
  if constexpr (std::is_same_v<T, Subscribe>) {
    m.dup = (flags & kDup) != 0;
    m.qos = qos_from_bits(flags);
    if (m.qos < 0)
      return fail(DecodeErrorKind::field_out_of_range, flags_at, "SUBSCRIBE QoS -1 is not defined");
  }
  m.msg_id = r.u16();
  if (m.topic_id_type == TopicIdType::normal) {
    m.topic_name = r.rest_string();
    return ok(m);
  }
  if (r.remaining() < 2) return fail(DecodeErrorKind::too_short, r.offset(), id_too_short);
  m.topic_id = r.u16();
  if (r.remaining() != 0) return fail(DecodeErrorKind::length_mismatch, r.offset(), id_too_long);
  return ok(m);
}

DecodeResult decode_body(MsgType type, Reader& r) {
  switch (type) {
    case MsgType::advertise: {
      Advertise m;
      m.gw_id = r.u8();
      m.duration = r.u16();
      return ok(m);
    }
    case MsgType::searchgw:
      return ok(SearchGw{r.u8()});
    case MsgType::gwinfo: {
      GwInfo m;
      m.gw_id = r.u8();
      m.gw_address = r.rest();
      return ok(m);
    }
    case MsgType::connect:
      return decode_connect(r);
    case MsgType::connack:
      return ok(ConnAck{r.rc()});
    case MsgType::willtopicreq:
      return ok(WillTopicReq{});
    case MsgType::willtopic:
      return decode_will_topic<WillTopic>(r);
    case MsgType::willmsgreq:
      return ok(WillMsgReq{});
    case MsgType::willmsg:
      return ok(WillMsg{r.rest()});
    case MsgType::reg: {
      Register m;
      m.topic_id = r.u16();
      m.msg_id = r.u16();
      m.topic_name = r.rest_string();
      return ok(m);
    }
    case MsgType::regack: {
      RegAck m;
      m.topic_id = r.u16();
      m.msg_id = r.u16();
      m.rc = r.rc();
      return ok(m);
    }
    case MsgType::publish:
      return decode_publish(r);
    case MsgType::puback: {
      PubAck m;
      m.topic_id = r.u16();
      m.msg_id = r.u16();
      m.rc = r.rc();
      return ok(m);
    }
    case MsgType::pubcomp:
      return ok(PubComp{r.u16()});
    case MsgType::pubrec:
      return ok(PubRec{r.u16()});
    case MsgType::pubrel:
      return ok(PubRel{r.u16()});
    case MsgType::subscribe:
      return decode_subscription<Subscribe>(r, "SUBSCRIBE by id needs 7 octets",
                                            "SUBSCRIBE by id is 7 octets");
    case MsgType::suback: {
      const std::size_t flags_at = r.offset();
      SubAck m;
      m.qos = qos_from_bits(r.u8());
      if (m.qos < 0)
        return fail(DecodeErrorKind::field_out_of_range, flags_at, "SUBACK QoS -1 is not defined");
      m.topic_id = r.u16();
      m.msg_id = r.u16();
      m.rc = r.rc();
      return ok(m);
    }
    case MsgType::unsubscribe:
      return decode_subscription<Unsubscribe>(r, "UNSUBSCRIBE by id needs 7 octets",
                                              "UNSUBSCRIBE by id is 7 octets");
    case MsgType::unsuback:
      return ok(UnsubAck{r.u16()});
    case MsgType::pingreq: {
      const std::size_t client_at = r.offset();
      PingReq m;
      m.client_id = r.rest_string();
      if (m.client_id.size() > kMaxClientId)
        return fail(DecodeErrorKind::field_out_of_range, client_at, "PINGREQ ClientId must be 1..23 octets");
      return ok(m);
    }
    case MsgType::pingresp:
      return ok(PingResp{});
    case MsgType::disconnect: {
      Disconnect m;
      if (r.remaining() == 1)
        return fail(DecodeErrorKind::length_mismatch, r.offset(), "DISCONNECT is 2 or 4 octets");
      if (r.remaining() == 2) m.duration = r.u16();
      return ok(m);
    }
    case MsgType::willtopicupd:
      return decode_will_topic<WillTopicUpd>(r);
    case MsgType::willtopicresp:
      return ok(WillTopicResp{r.rc()});
    case MsgType::willmsgupd:
      return ok(WillMsgUpd{r.rest()});
    case MsgType::willmsgresp:
      return ok(WillMsgResp{r.rc()});
    case MsgType::encapsulated:
      break;
  }
  return fail(DecodeErrorKind::reserved_type, 0, "unreachable");
}

// §4.12: Len(1) 0xFE Ctrl(1) NodeId(Len-3), then the complete inner message (the rest).
DecodeResult decode_encapsulated(Bytes d, std::size_t header) {
  if (header != kShortHeader)
    return fail(DecodeErrorKind::bad_encapsulation, 0, "encapsulation Length must be the 1-octet form");
  const std::size_t length = d[0];
  if (length < kEncapFixedHeader)
    return fail(DecodeErrorKind::bad_encapsulation, 0, "encapsulation Length must be >= 3");
  if (d.size() < length) return fail(DecodeErrorKind::truncated, d.size(), "encapsulation header cut short");
  if (d.size() == length)
    return fail(DecodeErrorKind::bad_encapsulation, length, "embedded MQTT-SN message missing");
  Encapsulated m;
  m.ctrl = d[2];
  m.node_id = d.subspan(kEncapFixedHeader, length - kEncapFixedHeader);
  m.inner = d.subspan(length);
  if (peek_type(m.inner.data(), m.inner.size()) == static_cast<int>(MsgType::encapsulated))
    return fail(DecodeErrorKind::bad_encapsulation, length, "nested encapsulation");
  return ok(m);
}

}  // namespace

DecodeResult decode(std::span<const std::uint8_t> d) {
  if (d.empty()) return fail(DecodeErrorKind::truncated, 0, "empty datagram");
  std::size_t header = kShortHeader;
  std::size_t length = d[0];
  if (length == 0) return fail(DecodeErrorKind::zero_length, 0, "Length octet 0x00");
  if (length == kLongFormMarker) {
    if (d.size() < kLongHeader)
      return fail(DecodeErrorKind::truncated, d.size(), "3-octet length field incomplete");
    header = kLongHeader;
    length = be16(d[1], d[2]);
    if (length < kLongHeader + 1)
      return fail(DecodeErrorKind::bad_length, 1, "3-octet form total must be >= 4");
  }
  if (d.size() <= header) return fail(DecodeErrorKind::truncated, d.size(), "MsgType missing");
  const std::uint8_t type = d[header];
  if (type == static_cast<std::uint8_t>(MsgType::encapsulated)) return decode_encapsulated(d, header);

  if (d.size() < length) return fail(DecodeErrorKind::truncated, d.size(), "fewer octets than Length says");
  if (d.size() > length)
    return fail(DecodeErrorKind::length_mismatch, length, "datagram longer than Length (trailing octets)");

  const std::optional<SizeRule> rule = size_rule(type);
  if (!rule) return fail(DecodeErrorKind::reserved_type, header, "MsgType is reserved");
  const std::size_t body_at = header + 1;
  const std::size_t body_size = length - body_at;
  if (body_size < rule->min) return fail(DecodeErrorKind::too_short, length, rule->too_short);
  if (body_size > rule->max)
    return fail(DecodeErrorKind::length_mismatch, body_at + rule->max, rule->too_long);

  Reader r(d.subspan(body_at, body_size), body_at);
  return decode_body(static_cast<MsgType>(type), r);
}

}  // namespace mqttsn
