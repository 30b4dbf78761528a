// Every sn_ vector of tests/data/mqttsn-vectors.txt: valid ones decode to exactly what the line
// describes and re-encode to the same octets; invalid ones are rejected with the stated reason.
// One TEST_CASE per message family, one SUBCASE per vector (so a failure names the vector).
#include <doctest/doctest.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "codec/vector_file.hpp"
#include "gateway/core/codec.hpp"
#include "gateway/core/describe.hpp"

namespace mqttsn::test {
namespace {

using Prefixes = std::initializer_list<std::string_view>;

// The families below, by vector-name prefix; `every sn_ vector belongs to a family` keeps them complete.
const Prefixes kDiscovery = {"sn_advertise", "sn_searchgw", "sn_gwinfo"};
const Prefixes kConnectWill = {"sn_connect", "sn_connack", "sn_will"};
const Prefixes kRegister = {"sn_register", "sn_regack"};
const Prefixes kPublish = {"sn_publish", "sn_puback", "sn_pubrec", "sn_pubrel", "sn_pubcomp"};
const Prefixes kSubscribe = {"sn_subscribe", "sn_suback", "sn_unsubscribe", "sn_unsuback"};
const Prefixes kPingDisconnect = {"sn_ping", "sn_disconnect"};
const Prefixes kEncapsulation = {"sn_encap"};
const Prefixes kInvalid = {"sn_bad_"};
const Prefixes kAllFamilies[] = {kDiscovery, kSubscribe,      kConnectWill,   kRegister,
                                 kPublish,   kPingDisconnect, kEncapsulation, kInvalid};

bool matches(const Vector& v, Prefixes prefixes) {
  for (auto p : prefixes)
    if (std::string_view(v.name).starts_with(p)) return true;
  return false;
}

std::vector<std::uint8_t> reencode(const Message& m) {
  std::vector<std::uint8_t> out(encoded_size(m));
  const EncodeResult r = encode(m, out);
  REQUIRE(r);
  CHECK(r.size == out.size());
  return out;
}

void check_valid(const Vector& v) {
  const DecodeResult r = decode(v.bytes);
  const std::string error = r ? "" : std::string(to_string(r.error().kind)) + ": " + r.error().detail;
  INFO("decode error: ", error);
  REQUIRE(r.ok());
  CHECK(describe(v.bytes) == v.description);

  const auto again = reencode(r.message());
  if (v.name == "sn_publish_3byte_len_small") {
    // Legal on receipt, but our encoder uses the short form whenever the total fits in 255 octets.
    CHECK(again == parse_hex("09 0C 00 00 01 00 00 68 69"));
  } else {
    CHECK(again == v.bytes);
  }
  if (const auto* e = std::get_if<Encapsulated>(&r.message())) {
    const DecodeResult inner = decode(e->inner);
    REQUIRE(inner.ok());
    const auto inner_again = reencode(inner.message());
    CHECK(std::equal(inner_again.begin(), inner_again.end(), e->inner.begin(), e->inner.end()));
  }
}

void check_invalid(const Vector& v) {
  const DecodeResult r = decode(v.bytes);
  REQUIRE_FALSE(r.ok());
  CHECK(std::string(to_string(r.error().kind)) == v.reason);
  CHECK(std::string(r.error().detail).size() > 0);
}

void run_family(Prefixes prefixes) {
  int count = 0;
  for (const Vector& v : sn_vectors()) {
    if (!matches(v, prefixes)) continue;
    ++count;
    SUBCASE(v.name.c_str()) {
      if (v.valid())
        check_valid(v);
      else
        check_invalid(v);
    }
  }
  CHECK(count > 0);
}

}  // namespace

TEST_CASE("vectors: the file has the sn_ vectors we expect") {
  CHECK(sn_vectors().size() == 80);
  int invalid = 0;
  for (const Vector& v : sn_vectors()) invalid += v.valid() ? 0 : 1;
  CHECK(invalid == 15);
}

TEST_CASE("vectors: every sn_ vector belongs to exactly one family") {
  for (const Vector& v : sn_vectors()) {
    int families = 0;
    for (Prefixes f : kAllFamilies) families += matches(v, f) ? 1 : 0;
    INFO(v.name);
    CHECK(families == 1);
    CHECK(v.valid() == !matches(v, kInvalid));
  }
}

TEST_CASE("vectors: discovery (ADVERTISE, SEARCHGW, GWINFO)") {
  run_family(kDiscovery);
}
TEST_CASE("vectors: connect and will (CONNECT, CONNACK, WILL*)") {
  run_family(kConnectWill);
}
TEST_CASE("vectors: topic registration (REGISTER, REGACK)") {
  run_family(kRegister);
}
TEST_CASE("vectors: publish flows (PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP)") {
  run_family(kPublish);
}
TEST_CASE("vectors: subscriptions (SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK)") {
  run_family(kSubscribe);
}
TEST_CASE("vectors: keep-alive and sleep (PINGREQ, PINGRESP, DISCONNECT)") {
  run_family(kPingDisconnect);
}
TEST_CASE("vectors: forwarder encapsulation (0xFE)") {
  run_family(kEncapsulation);
}
TEST_CASE("vectors: invalid datagrams are rejected with the stated reason") {
  run_family(kInvalid);
}

}  // namespace mqttsn::test
