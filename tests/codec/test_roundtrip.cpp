// Every message type: a hand-checked encoding (from protocol.md §1.3), and decode(encode(m)) == m.
#include <doctest/doctest.h>

#include <array>

#include "codec/codec_test_util.hpp"
#include "gateway/core/codec_compare.hpp"

namespace mqttsn::test {
namespace {

struct Sample {
  const char* name;
  Message message;
  const char* wire;
};

const std::array<std::uint8_t, 2> kGwAdd = {0x12, 0x34};
const std::array<std::uint8_t, 3> kPayload = {0x00, 0xFF, 0x7E};
const std::array<std::uint8_t, 2> kNodeId = {0xAB, 0xCD};
const std::array<std::uint8_t, 2> kInnerPingResp = {0x02, 0x17};
const std::array<std::uint8_t, 2> kWillMessage = {'b', 'y'};

std::vector<Sample> samples() {
  using T = TopicIdType;
  using R = ReturnCode;
  return {
      {"ADVERTISE", Advertise{7, 0x0384}, "05 00 07 03 84"},
      {"SEARCHGW", SearchGw{3}, "03 01 03"},
      {"GWINFO from a gateway", GwInfo{9, {}}, "03 02 09"},
      {"GWINFO from a client", GwInfo{9, kGwAdd}, "05 02 09 12 34"},
      {"CONNECT", Connect{true, true, 1, 10, "c1"}, "08 04 0C 01 00 0A 63 31"},
      {"CONNECT no flags", Connect{false, false, 1, 0, "x"}, "07 04 00 01 00 00 78"},
      {"CONNACK", ConnAck{R::congestion}, "03 05 01"},
      {"WILLTOPICREQ", WillTopicReq{}, "02 06"},
      {"WILLTOPIC", WillTopic{false, 2, true, "w/t"}, "06 07 50 77 2F 74"},
      {"WILLTOPIC empty", WillTopic{true, 0, false, ""}, "02 07"},
      {"WILLTOPIC empty topic name", WillTopic{false, 0, false, ""}, "03 07 00"},
      {"WILLMSGREQ", WillMsgReq{}, "02 08"},
      {"WILLMSG", WillMsg{kWillMessage}, "04 09 62 79"},
      {"WILLMSG empty", WillMsg{}, "02 09"},
      {"REGISTER", Register{0x0102, 0x0304, "a/b"}, "09 0A 01 02 03 04 61 2F 62"},
      {"REGISTER empty name", Register{0, 1, ""}, "06 0A 00 00 00 01"},
      {"REGACK", RegAck{0x0001, 0xBEEF, R::invalid_topic_id}, "07 0B 00 01 BE EF 02"},
      {"PUBLISH QoS 0", Publish{false, 0, false, T::normal, 1, 0, kPayload}, "0A 0C 00 00 01 00 00 00 FF 7E"},
      {"PUBLISH QoS 1 DUP retain predefined", Publish{true, 1, true, T::predefined, 0x0010, 0x0020, {}},
       "07 0C B1 00 10 00 20"},
      {"PUBLISH QoS 2 short", Publish{false, 2, false, T::short_name, short_topic_id('a', 'b'), 5, {}},
       "07 0C 42 61 62 00 05"},
      {"PUBLISH QoS -1 predefined", Publish{false, -1, false, T::predefined, 0x0010, 0, {}},
       "07 0C 61 00 10 00 00"},
      {"PUBLISH QoS -1 short retain", Publish{false, -1, true, T::short_name, 0x7431, 0, {}},
       "07 0C 72 74 31 00 00"},
      {"PUBACK", PubAck{0x0009, 0x0001, R::not_supported}, "07 0D 00 09 00 01 03"},
      {"PUBREC", PubRec{0x1234}, "04 0F 12 34"},
      {"PUBREL", PubRel{0x1234}, "04 10 12 34"},
      {"PUBCOMP", PubComp{0x1234}, "04 0E 12 34"},
      {"SUBSCRIBE name", Subscribe{false, 1, T::normal, 4, "a/+", 0}, "08 12 20 00 04 61 2F 2B"},
      {"SUBSCRIBE empty name", Subscribe{false, 0, T::normal, 4, "", 0}, "05 12 00 00 04"},
      {"SUBSCRIBE predefined DUP QoS2", Subscribe{true, 2, T::predefined, 4, "", 0x0010},
       "07 12 C1 00 04 00 10"},
      {"SUBSCRIBE short", Subscribe{false, 0, T::short_name, 4, "", 0x6162}, "07 12 02 00 04 61 62"},
      {"SUBACK", SubAck{2, 0x0007, 0x000A, R::accepted}, "08 13 40 00 07 00 0A 00"},
      {"UNSUBSCRIBE name", Unsubscribe{T::normal, 0x000B, "x/#", 0}, "08 14 00 00 0B 78 2F 23"},
      {"UNSUBSCRIBE short", Unsubscribe{T::short_name, 0x000B, "", 0x6162}, "07 14 02 00 0B 61 62"},
      {"UNSUBACK", UnsubAck{0x000B}, "04 15 00 0B"},
      {"PINGREQ", PingReq{}, "02 16"},
      {"PINGREQ with ClientId", PingReq{"n1"}, "04 16 6E 31"},
      {"PINGRESP", PingResp{}, "02 17"},
      {"DISCONNECT", Disconnect{}, "02 18"},
      {"DISCONNECT with Duration", Disconnect{std::uint16_t{0}}, "04 18 00 00"},
      {"WILLTOPICUPD", WillTopicUpd{false, 1, false, "t"}, "04 1A 20 74"},
      {"WILLTOPICUPD empty", WillTopicUpd{true, 0, false, ""}, "02 1A"},
      {"WILLTOPICRESP", WillTopicResp{R::accepted}, "03 1B 00"},
      {"WILLMSGUPD", WillMsgUpd{kWillMessage}, "04 1C 62 79"},
      {"WILLMSGRESP", WillMsgResp{R::congestion}, "03 1D 01"},
      {"ENCAPSULATED", Encapsulated{0x02, kNodeId, kInnerPingResp}, "05 FE 02 AB CD 02 17"},
      {"ENCAPSULATED empty node id", Encapsulated{0x00, {}, kInnerPingResp}, "03 FE 00 02 17"},
  };
}

}  // namespace

TEST_CASE("round trip: every message type encodes to its documented octets and decodes back") {
  std::size_t types_seen = 0;
  std::array<bool, 256> seen{};
  for (const Sample& s : samples()) {
    SUBCASE(s.name) {
      const Octets wire = encode_ok(s.message);
      CHECK(wire == hex(s.wire));
      const DecodeResult r = decode(wire);
      REQUIRE(r.ok());
      CHECK(type_of(r.message()) == type_of(s.message));
      CHECK(equivalent(r.message(), s.message));
    }
    const auto t = static_cast<std::uint8_t>(type_of(s.message));
    if (!seen[t]) ++types_seen;
    seen[t] = true;
  }
  CHECK(types_seen == std::variant_size_v<Message>);  // no message type left out
}

TEST_CASE("round trip: equivalent() compares meaning, not unused struct fields") {
  const std::array<std::uint8_t, 1> a = {1}, b = {1}, c = {2};
  CHECK(equivalent(WillMsg{a}, WillMsg{b}));  // by content, not by address
  CHECK_FALSE(equivalent(WillMsg{a}, WillMsg{c}));
  CHECK(equivalent(WillTopic{true, 1, true, "x"}, WillTopic{true, 0, false, ""}));
  CHECK(equivalent(Subscribe{false, 0, TopicIdType::predefined, 1, "ignored", 5},
                   Subscribe{false, 0, TopicIdType::predefined, 1, "", 5}));
  CHECK_FALSE(equivalent(Subscribe{false, 0, TopicIdType::normal, 1, "a", 5},
                         Subscribe{false, 0, TopicIdType::normal, 1, "b", 5}));
  CHECK_FALSE(equivalent(PubRec{1}, PubRel{1}));
  CHECK_FALSE(equivalent(Disconnect{}, Disconnect{std::uint16_t{0}}));
}

}  // namespace mqttsn::test
