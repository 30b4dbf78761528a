// The decode-error design (see the comment at the top of gateway/core/codec_decode.cpp): which kind,
// at which offset, for each way a datagram can be wrong, plus what is deliberately accepted.
#include <doctest/doctest.h>

#include <set>
#include <string>

#include "codec/codec_test_util.hpp"
#include "gateway/core/codec_compare.hpp"

namespace mqttsn::test {
namespace {

bool is_reserved_type(unsigned t) {
  return t == 0x03 || t == 0x11 || t == 0x19 || (t >= 0x1E && t <= 0xFD) || t == 0xFF;
}

}  // namespace

TEST_CASE("decode errors: MsgType, header and size rules") {
  SUBCASE("every reserved MsgType octet is reserved-type, in both Length forms") {
    for (unsigned t = 0; t < 256; ++t) {
      CAPTURE(t);
      const auto type = static_cast<std::uint8_t>(t);
      const std::string short_form = decode_reason({0x02, type});
      const std::string long_form = decode_reason({0x01, 0x00, 0x04, type});
      if (is_reserved_type(t)) {
        CHECK(short_form == "reserved-type");
        CHECK(long_form == "reserved-type");
        CHECK(decode(Octets{0x02, type}).error().offset == 1);
        CHECK(decode(Octets{0x01, 0x00, 0x04, type}).error().offset == 3);
      } else if (t == 0xFE) {
        CHECK(short_form == "bad-encapsulation");
      } else {
        CHECK((short_form == "ok" || short_form == "too-short"));
        CHECK(long_form == short_form);
      }
    }
  }
  SUBCASE("Length below a type's fixed fields is too-short, above a fixed size is length-mismatch") {
    CHECK(decode_reason(hex("04 05 00 00")) == "length-mismatch");  // CONNACK is 3 octets
    CHECK(decode(hex("04 05 00 00")).error().offset == 3);
    CHECK(decode_reason(hex("03 06 00")) == "length-mismatch");  // WILLTOPICREQ is 2
    CHECK(decode_reason(hex("08 0D 00 01 00 02 00 00")) == "length-mismatch");
    CHECK(decode_reason(hex("06 0B 00 01 00 02")) == "too-short");
    CHECK(decode_reason(hex("04 01 00 00")) == "length-mismatch");  // SEARCHGW
    CHECK(decode_reason(hex("04 00 01 03")) == "too-short");        // ADVERTISE
    CHECK(decode_reason(hex("02 02")) == "too-short");              // GWINFO without GwId
    CHECK(decode_reason(hex("05 04 04 01 00")) == "too-short");     // CONNECT cut in Duration
    CHECK(decode_reason(hex("05 0A 00 00 00")) == "too-short");     // REGISTER cut in MsgId
    CHECK(decode_reason(hex("04 12 00 00")) == "too-short");        // SUBSCRIBE cut in MsgId
    CHECK(decode_reason(hex("03 17 00")) == "length-mismatch");     // PINGRESP is 2
  }
  SUBCASE("DISCONNECT is 2 or 4 octets; 3 or 5 is length-mismatch") {
    CHECK(decode_reason(hex("03 18 00")) == "length-mismatch");
    CHECK(decode_reason(hex("05 18 00 00 00")) == "length-mismatch");
    CHECK(std::get<Disconnect>(decode(hex("04 18 FF FF")).message()).duration == 0xFFFF);
  }
  SUBCASE("SUBSCRIBE/UNSUBSCRIBE by id need exactly 2 id octets") {
    CHECK(decode_reason(hex("06 12 01 00 05 00")) == "too-short");
    CHECK(decode_reason(hex("08 12 01 00 05 00 10 00")) == "length-mismatch");
    CHECK(decode_reason(hex("05 14 02 00 05")) == "too-short");
    CHECK(decode_reason(hex("08 14 02 00 05 61 62 63")) == "length-mismatch");
  }
  SUBCASE("datagram vs Length is checked before the type, with the offset where it went wrong") {
    CHECK(decode_reason(hex("05 03 00")) == "truncated");  // reserved type, but cut first
    CHECK(decode(hex("09 0C 20 00 01 00 02")).error().offset == 7);
    CHECK(decode(hex("03 05 00 00 00")).error().offset == 3);
  }
}

TEST_CASE("decode errors: flags and fields") {
  SUBCASE("CONNECT ProtocolId other than 0x01") {
    CHECK(decode_reason(hex("07 04 04 00 00 3C 78")) == "bad-protocol-id");
    CHECK(decode(hex("07 04 04 02 00 3C 78")).error().offset == 3);
    CHECK(decode(hex("01 00 09 04 04 02 00 3C 78")).error().offset == 5);
  }
  SUBCASE("TopicIdType 0b11 is reserved where TopicIdType is used") {
    CHECK(decode_reason(hex("07 0C 03 00 01 00 00")) == "reserved-topic-type");
    CHECK(decode_reason(hex("07 0C 63 00 01 00 00")) == "reserved-topic-type");
    CHECK(decode_reason(hex("07 12 03 00 01 00 10")) == "reserved-topic-type");
    CHECK(decode_reason(hex("07 14 03 00 01 00 10")) == "reserved-topic-type");
    CHECK(decode(hex("07 0C 03 00 01 00 00")).error().offset == 2);
  }
  SUBCASE("QoS -1: PUBLISH with predefined or short ids only; nowhere else") {
    CHECK(decode_reason(hex("07 0C 60 00 01 00 00")) == "qos-1-topic-type");
    CHECK(decode_reason(hex("07 0C 61 00 01 00 00")) == "ok");
    CHECK(decode_reason(hex("07 0C 62 61 62 00 00")) == "ok");
    CHECK(decode_reason(hex("05 12 60 00 01")) == "field-out-of-range");           // SUBSCRIBE
    CHECK(decode_reason(hex("08 13 60 00 01 00 01 00")) == "field-out-of-range");  // SUBACK
    CHECK(decode_reason(hex("04 07 60 74")) == "field-out-of-range");              // WILLTOPIC
    CHECK(decode_reason(hex("04 1A 60 74")) == "field-out-of-range");              // WILLTOPICUPD
  }
  SUBCASE("flag bits a message does not use are ignored (protocol.md §2)") {
    const auto c = std::get<Connect>(decode(hex("07 04 F7 01 00 3C 78")).message());
    CHECK_FALSE(c.will);
    CHECK(c.clean_session);
    const auto w = std::get<WillTopic>(decode(hex("04 07 8F 74")).message());
    CHECK(w.qos == 0);
    CHECK_FALSE(w.retain);
    const auto u = std::get<Unsubscribe>(decode(hex("07 14 F1 00 01 00 10")).message());
    CHECK(u.topic_id_type == TopicIdType::predefined);
    CHECK(std::get<SubAck>(decode(hex("08 13 23 00 01 00 01 00")).message()).qos == 1);
  }
  SUBCASE("accepted on purpose: reserved topic ids and return codes reach the session layer") {
    const auto p = std::get<Publish>(decode(hex("07 0C 20 FF FF 00 01")).message());
    CHECK(p.topic_id == kReservedTopicId);
    const auto a = std::get<PubAck>(decode(hex("07 0D 00 01 00 01 7F")).message());
    CHECK(static_cast<unsigned>(a.rc) == 0x7F);
    CHECK(encode_ok(a) == hex("07 0D 00 01 00 01 7F"));
  }
}

TEST_CASE("decode errors: forwarder encapsulation") {
  SUBCASE("header Length counts only the header; the inner message is the rest") {
    const Octets wire = hex("04 FE 03 77 01 00 06 0F 00 09");  // inner in the 3-octet form
    const DecodeResult r = decode(wire);
    REQUIRE(r.ok());
    const auto& e = std::get<Encapsulated>(r.message());
    CHECK(e.ctrl == 0x03);
    CHECK(e.node_id.size() == 1);
    CHECK(e.inner.size() == 6);
    CHECK(std::get<PubRec>(decode(e.inner).message()).msg_id == 9);
  }
  SUBCASE("empty node id") {
    CHECK(decode_reason(hex("03 FE 00 02 16")) == "ok");
  }
  SUBCASE("malformed headers") {
    CHECK(decode_reason(hex("02 FE 00 02 16")) == "bad-encapsulation");  // Length < 3
    CHECK(decode_reason(hex("02 FE")) == "bad-encapsulation");
    CHECK(decode_reason(hex("01 00 05 FE 00 02 16")) == "bad-encapsulation");  // 3-octet form
    CHECK(decode_reason(hex("06 FE 00 11 22")) == "truncated");                // node id cut
    CHECK(decode_reason(hex("05 FE 00 11 22")) == "bad-encapsulation");        // nothing inside
  }
  SUBCASE("nested encapsulation is refused, in either inner Length form") {
    CHECK(decode_reason(hex("03 FE 00 03 FE 00 02 16")) == "bad-encapsulation");
    CHECK(decode_reason(hex("03 FE 00 01 00 05 FE 00")) == "bad-encapsulation");
    CHECK(decode(hex("03 FE 00 03 FE 00 02 16")).error().offset == 3);
    const Octets inner = hex("03 FE 00 02 16");
    CHECK(encode_error(Encapsulated{0, {}, inner}) == EncodeError::field_out_of_range);
    CHECK(encode_error(Encapsulated{0, {}, {}}) == EncodeError::field_out_of_range);
  }
  SUBCASE("the inner message's own errors are the caller's decode() to find") {
    const Octets wire = hex("03 FE 00 05 0C");  // the views below point into it
    const DecodeResult r = decode(wire);
    REQUIRE(r.ok());
    const Bytes inner = std::get<Encapsulated>(r.message()).inner;
    CHECK(decode_reason(Octets(inner.begin(), inner.end())) == "truncated");
  }
}

TEST_CASE("encode errors: the encoder refuses what the decoder would reject") {
  using T = TopicIdType;
  CHECK(encode_error(Connect{false, false, 2, 0, "x"}) == EncodeError::field_out_of_range);
  CHECK(encode_error(Publish{false, -1, false, T::normal, 1, 0, {}}) == EncodeError::field_out_of_range);
  CHECK(encode_error(Publish{false, 3, false, T::predefined, 1, 0, {}}) == EncodeError::field_out_of_range);
  CHECK(encode_error(Publish{false, 0, false, static_cast<T>(3), 1, 0, {}}) ==
        EncodeError::field_out_of_range);
  CHECK(encode_error(Subscribe{false, -1, T::normal, 1, "a", 0}) == EncodeError::field_out_of_range);
  CHECK(encode_error(Unsubscribe{static_cast<T>(3), 1, "a", 0}) == EncodeError::field_out_of_range);
  CHECK(encode_error(SubAck{-1, 0, 1, ReturnCode::accepted}) == EncodeError::field_out_of_range);
  CHECK(encode_error(WillTopic{false, -1, false, "t"}) == EncodeError::field_out_of_range);
  CHECK(encode_error(WillTopic{true, -1, false, ""}) == EncodeError::none);  // flags unused when empty
  CHECK(encode_error(WillTopicUpd{false, 5, false, "t"}) == EncodeError::field_out_of_range);
}

TEST_CASE("names: message types and error kinds") {
  CHECK(std::string(to_string(MsgType::reg)) == "REGISTER");
  CHECK(std::string(to_string(MsgType::encapsulated)) == "ENCAPSULATED");
  CHECK(std::string(to_string(static_cast<MsgType>(0x03))) == "RESERVED");
  CHECK(type_of(PubComp{}) == MsgType::pubcomp);
  CHECK(type_of(Encapsulated{}) == MsgType::encapsulated);
  std::set<std::string> names;
  for (int k = 0; k <= static_cast<int>(DecodeErrorKind::bad_encapsulation); ++k)
    names.insert(to_string(static_cast<DecodeErrorKind>(k)));
  CHECK(names.size() == 11);
  CHECK(names.count("qos-1-topic-type") == 1);
  CHECK(std::string(to_string(EncodeError::buffer_too_small)) == "buffer-too-small");
}

}  // namespace mqttsn::test
