// Plain serial (njh/mqtt-sn-tools) framing: length-delimited packets, long form, idle-gap discard.
#include <doctest/doctest.h>

#include "radio/njh_framing.hpp"
#include "radio_test_support.hpp"

using mqttsn::radio::NjhFramer;
using mqttsn::radio::NjhFramingOptions;
using radio_test::ByteVec;
using radio_test::vector_named;
using ms = std::chrono::milliseconds;

namespace {

std::vector<ByteVec> feed(NjhFramer& f, std::span<const std::uint8_t> bytes, ms now) {
  std::vector<ByteVec> out;
  f.feed(bytes, now, [&](std::span<const std::uint8_t> p) { out.emplace_back(p.begin(), p.end()); });
  return out;
}

}  // namespace

TEST_CASE("njh: serial_njh_two_packets gives CONNACK then PINGRESP, at any split") {
  const ByteVec& s = vector_named("serial_njh_two_packets").bytes;
  for (std::size_t cut = 0; cut <= s.size(); ++cut) {
    NjhFramer f;
    auto got = feed(f, std::span(s).first(cut), ms(0));
    auto rest = feed(f, std::span(s).subspan(cut), ms(1));
    got.insert(got.end(), rest.begin(), rest.end());
    REQUIRE(got.size() == 2);
    CHECK(got[0] == ByteVec{0x03, 0x05, 0x00});
    CHECK(got[1] == ByteVec{0x02, 0x17});
    CHECK(f.counters().packets == 2);
    CHECK_FALSE(f.partial());
  }
}

TEST_CASE("njh: the 3-byte length form is accepted by default and rejected in strict njh mode") {
  const auto& v = vector_named("serial_njh_bad_3byte");
  CHECK(v.invalid_reason == "njh-unsupported");
  SUBCASE("default: one long-form PUBLISH") {
    NjhFramer f;
    const auto got = feed(f, v.bytes, ms(0));
    REQUIRE(got.size() == 1);
    CHECK(got[0] == v.bytes);
  }
  SUBCASE("strict: 0x01 rejected, and the rest never makes a packet") {
    NjhFramer f(NjhFramingOptions{.strict_njh = true});
    CHECK(feed(f, v.bytes, ms(0)).empty());
    CHECK(f.counters().long_form_rejected == 1);
    CHECK(f.counters().zero_length == 1);
    CHECK(f.partial());  // 0x0B claims 11 octets, only 8 follow
    CHECK(f.expire(ms(100)));
    CHECK(f.counters().idle_discards == 1);
    CHECK(f.counters().packets == 0);
  }
}

TEST_CASE("njh: a partial packet is discarded after the idle gap, not before") {
  NjhFramer f(NjhFramingOptions{.idle_gap = ms(100)});
  const ByteVec part = {0x05, 0x00, 0x01};  // ADVERTISE cut short
  CHECK(feed(f, part, ms(1000)).empty());
  CHECK_FALSE(f.expire(ms(1099)));
  CHECK(f.partial_deadline() == ms(1100));
  // Bytes arriving within the gap continue the packet.
  auto got = feed(f, ByteVec{0x03}, ms(1050));
  CHECK(got.empty());
  got = feed(f, ByteVec{0x84}, ms(1149));
  REQUIRE(got.size() == 1);
  CHECK(got[0] == ByteVec{0x05, 0x00, 0x01, 0x03, 0x84});
  // After a gap, a stale partial is dropped and the new byte starts a packet.
  CHECK(feed(f, ByteVec{0x03, 0x05}, ms(2000)).empty());
  got = feed(f, ByteVec{0x02, 0x17}, ms(2200));
  REQUIRE(got.size() == 1);
  CHECK(got[0] == ByteVec{0x02, 0x17});
  CHECK(f.counters().idle_discards == 1);
  CHECK(f.counters().discarded_bytes == 2);
}

TEST_CASE("njh: zero lengths are skipped, bad and oversized long forms are dropped") {
  NjhFramer f(NjhFramingOptions{.max_packet = 300});
  ByteVec s = {0x00, 0x00, 0x02, 0x17};   // two zero octets, then PINGRESP
  s.insert(s.end(), {0x01, 0x00, 0x02});  // long form below 4: malformed
  s.insert(s.end(), {0x01, 0x01, 0x90});  // 400 > 300: skipped
  s.insert(s.end(), 400 - 3, 0xAA);
  s.insert(s.end(), {0x03, 0x05, 0x00});
  const auto got = feed(f, s, ms(0));
  REQUIRE(got.size() == 2);
  CHECK(got[0] == ByteVec{0x02, 0x17});
  CHECK(got[1] == ByteVec{0x03, 0x05, 0x00});
  CHECK(f.counters().zero_length == 2);
  CHECK(f.counters().malformed_length == 1);
  CHECK(f.counters().oversized == 1);
}

TEST_CASE("njh: a 255-octet packet and a long-form packet of 600 octets") {
  NjhFramer f;
  ByteVec p255(255, 0x41);
  p255[0] = 0xFF;
  ByteVec p600(600, 0x42);
  p600[0] = 0x01;
  p600[1] = 0x02;
  p600[2] = 0x58;
  ByteVec s = p255;
  s.insert(s.end(), p600.begin(), p600.end());
  const auto got = feed(f, s, ms(0));
  REQUIRE(got.size() == 2);
  CHECK(got[0] == p255);
  CHECK(got[1] == p600);
}
