// Sizes at the edges of the two Length forms, field limits, buffers that are too small, and inputs
// cut or extended by one octet. Every input is copied into its own heap block first (decode_reason,
// encode into exact-size buffers) so the sanitizer build catches any read or write past the end.
#include <doctest/doctest.h>

#include <numeric>
#include <string>

#include "codec/codec_test_util.hpp"
#include "gateway/core/codec_compare.hpp"

namespace mqttsn::test {
namespace {

// A QoS 0 PUBLISH carrying `n` data octets 00 01 02 ...: 7 + n octets in the short form.
struct PublishOf {
  explicit PublishOf(std::size_t n) : data(n) { std::iota(data.begin(), data.end(), std::uint8_t{0}); }
  Message message() const { return Publish{false, 0, false, TopicIdType::normal, 2, 0, data}; }
  Octets data;
};

// A PUBLISH written by hand with the 3-octet Length form and `total` octets in all.
Octets long_form_publish(std::size_t total) {
  Octets d = {0x01,
              static_cast<std::uint8_t>(total >> 8),
              static_cast<std::uint8_t>(total & 0xFF),
              0x0C,
              0x00,
              0x00,
              0x02,
              0x00,
              0x00};
  for (std::size_t i = 0; d.size() < total; ++i) d.push_back(static_cast<std::uint8_t>(i));
  return d;
}

std::string repeat(char c, std::size_t n) {
  return std::string(n, c);
}

}  // namespace

TEST_CASE("boundaries: Length forms at 0, 255, 256, 258 and 65535 octets") {
  SUBCASE("total 0: an empty datagram and a Length octet of 0") {
    CHECK(decode_reason({}) == "truncated");
    CHECK(decode_reason({0x00}) == "zero-length");
    CHECK(decode_reason({0x00, 0x16}) == "zero-length");
  }
  SUBCASE("255 octets is the largest short form: FF 0C ..., not Paho's 01 00 FF") {
    const PublishOf p(248);
    const Octets wire = encode_ok(p.message());
    REQUIRE(wire.size() == 255);
    CHECK(wire[0] == 0xFF);
    CHECK(wire[1] == 0x0C);
    CHECK(equivalent(decode(wire).message(), p.message()));
  }
  SUBCASE("one more data octet needs the long form, whose total is then 258") {
    const PublishOf p(249);
    const Octets wire = encode_ok(p.message());
    REQUIRE(wire.size() == 258);
    CHECK(wire[0] == 0x01);
    CHECK(wire[1] == 0x01);
    CHECK(wire[2] == 0x02);
    CHECK(wire[3] == 0x0C);
    CHECK(equivalent(decode(wire).message(), p.message()));
  }
  SUBCASE("long-form totals 256 and 257 are legal on receipt and re-encode to the short form") {
    for (std::size_t total : {256u, 257u}) {
      CAPTURE(total);
      const Octets in = long_form_publish(total);
      const DecodeResult r = decode(in);
      REQUIRE(r.ok());
      const Octets out = encode_ok(r.message());
      CHECK(out.size() == total - 2);
      CHECK(out[0] == total - 2);
      CHECK(std::equal(out.begin() + 1, out.end(), in.begin() + 3, in.end()));
    }
  }
  SUBCASE("a 65535-octet PUBLISH is the largest message") {
    const PublishOf p(65535 - 9);
    const Octets wire = encode_ok(p.message());
    REQUIRE(wire.size() == 65535);
    CHECK(wire[0] == 0x01);
    CHECK(wire[1] == 0xFF);
    CHECK(wire[2] == 0xFF);
    const DecodeResult r = decode(wire);
    REQUIRE(r.ok());
    CHECK(equivalent(r.message(), p.message()));
    CHECK(std::get<Publish>(r.message()).data.size() == 65526);
  }
  SUBCASE("a payload that would make the message exceed 65535 octets is refused") {
    const PublishOf p(65535 - 8);
    CHECK(encoded_size(p.message()) == 65536);
    CHECK(encode_error(p.message()) == EncodeError::field_out_of_range);
  }
  SUBCASE("the 3-octet form's own minimum is 4") {
    CHECK(decode_reason(hex("01 00 03 16")) == "bad-length");
    CHECK(decode_reason(hex("01 00 00 16")) == "bad-length");
    CHECK(decode_reason(hex("01 00 04 16")) == "ok");
    CHECK(decode_reason(hex("01")) == "truncated");
    CHECK(decode_reason(hex("01 00 04")) == "truncated");
  }
}

TEST_CASE("boundaries: ClientId length 1..23, topic names may be empty") {
  SUBCASE("CONNECT: 23 octets accepted, 24 and 0 rejected by decoder and encoder") {
    const std::string id23 = repeat('c', 23), id24 = repeat('c', 24);
    const Octets ok = encode_ok(Connect{false, true, 1, 60, id23});
    CHECK(ok.size() == 29);
    CHECK(std::get<Connect>(decode(ok).message()).client_id == id23);

    Octets too_long = ok;
    too_long[0] = 30;
    too_long.push_back('c');
    CHECK(decode_reason(too_long) == "field-out-of-range");
    CHECK(decode(too_long).error().offset == 6);
    CHECK(decode_reason(hex("06 04 04 01 00 3C")) == "field-out-of-range");
    CHECK(encode_error(Connect{false, true, 1, 60, id24}) == EncodeError::field_out_of_range);
    CHECK(encode_error(Connect{false, true, 1, 60, ""}) == EncodeError::field_out_of_range);
  }
  SUBCASE("PINGREQ: ClientId optional, at most 23 octets") {
    CHECK(decode_reason(encode_ok(PingReq{repeat('p', 23)})) == "ok");
    Octets over = hex("1A 16");
    over.resize(26, 'p');
    CHECK(decode_reason(over) == "field-out-of-range");
    CHECK(encode_error(PingReq{repeat('p', 24)}) == EncodeError::field_out_of_range);
  }
  SUBCASE("empty topic names and data decode (the session layer judges them)") {
    CHECK(std::get<Register>(decode(hex("06 0A 00 00 00 01")).message()).topic_name.empty());
    CHECK(std::get<Subscribe>(decode(hex("05 12 00 00 01")).message()).topic_name.empty());
    CHECK(std::get<Unsubscribe>(decode(hex("05 14 00 00 01")).message()).topic_name.empty());
    const Octets will_wire = hex("03 07 00");  // the decoded views point into it
    const auto wt = std::get<WillTopic>(decode(will_wire).message());
    CHECK_FALSE(wt.empty);
    CHECK(wt.topic.empty());
    CHECK(std::get<Publish>(decode(hex("07 0C 00 00 01 00 00")).message()).data.empty());
  }
  SUBCASE("encapsulation node id: 252 octets is the most the 1-octet Length can carry") {
    const Octets node(252, 0xAA), too_big(253, 0xAA), inner = hex("02 17");
    const Octets wire = encode_ok(Encapsulated{0, node, inner});
    CHECK(wire[0] == 0xFF);
    CHECK(wire.size() == 255 + 2);
    CHECK(std::get<Encapsulated>(decode(wire).message()).node_id.size() == 252);
    CHECK(encode_error(Encapsulated{0, too_big, inner}) == EncodeError::field_out_of_range);
  }
}

TEST_CASE("boundaries: encode into a buffer too small at every length fails cleanly") {
  const std::array<std::uint8_t, 4> node = {1, 2, 3, 4};
  const Octets inner = hex("03 05 00");
  const PublishOf big(300);
  const std::vector<Message> messages = {
      Connect{true, false, 1, 5, "client"},
      Publish{true, 1, false, TopicIdType::short_name, 0x6162, 9, node},
      big.message(),
      PingResp{},
      Encapsulated{1, node, inner},
      Subscribe{false, 1, TopicIdType::normal, 3, "a/b/c", 0},
  };
  for (const Message& m : messages) {
    CAPTURE(to_string(type_of(m)));
    const std::size_t size = encoded_size(m);
    for (std::size_t n = 0; n < size; ++n) {
      Octets out(n);  // exactly n octets: ASan reports any write past them
      const EncodeResult r = encode(m, out);
      CHECK(r.error == EncodeError::buffer_too_small);
      CHECK(r.size == 0);
      CHECK_FALSE(r);
    }
    Octets roomy(size + 10, 0xEE);
    const EncodeResult r = encode(m, roomy);
    REQUIRE(r);
    CHECK(r.size == size);
    CHECK(roomy[size] == 0xEE);  // nothing written past the message
  }
}

TEST_CASE("boundaries: every truncation and one-octet extension of every valid vector") {
  for (const Vector& v : sn_vectors()) {
    if (!v.valid()) continue;
    CAPTURE(v.name);
    const bool encapsulated = v.name.starts_with("sn_encap");
    for (std::size_t n = 0; n < v.bytes.size(); ++n) {
      const Octets prefix(v.bytes.begin(), v.bytes.begin() + static_cast<std::ptrdiff_t>(n));
      CAPTURE(n);
      const DecodeResult r = decode(prefix);
      if (!encapsulated) {
        CHECK_FALSE(r.ok());
      } else if (r) {
        // The outer header survived; the cut lands in the inner message, which then cannot decode.
        CHECK_FALSE(decode(std::get<Encapsulated>(r.message()).inner).ok());
      }
    }
    if (!encapsulated) {
      Octets longer = v.bytes;
      longer.push_back(0x00);
      CHECK(decode_reason(longer) == "length-mismatch");
    }
  }
}

}  // namespace mqttsn::test
