// The admission list, with and without address pinning, and may_connect() on top of it.
#include <doctest/doctest.h>

#include "conf/access_rules.hpp"
#include "conf/admission_list.hpp"

using namespace mqttsn::conf;
using mqttsn::LinkAddress;

namespace {

AdmissionList parse_ok(std::string_view text) {
  auto r = AdmissionList::parse(text, "clients");
  REQUIRE_MESSAGE(r.errors.empty(), to_string(r.errors));
  REQUIRE(r.list);
  return std::move(*r.list);
}

const LinkAddress kXbee = LinkAddress::xbee(0, 0x0013A20040522BAAull, 0x1234);
const LinkAddress kOtherXbee = LinkAddress::xbee(0, 0x0013A20040522BABull);
const LinkAddress kUdp = LinkAddress::udp4(1, {192, 168, 1, 20}, 5000);
const LinkAddress kUdpOtherPort = LinkAddress::udp4(1, {192, 168, 1, 20}, 5001);
const LinkAddress kUdp6 = LinkAddress::udp6(1, {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7}, 10000);

}  // namespace

TEST_CASE("admission: unpinned and pinned clients") {
  const auto list = parse_ok(R"(# comment
tester
sensor1 xbee:0013a20040522baa
sensor2 udp:192.168.1.20
sensor3 udp:192.168.1.20:5000
sensor4 udp:[fd00::7]:10000
sensor5 serial
multi xbee:0013A20040522BAA
multi udp:192.168.1.20
)");
  using V = AdmissionList::Verdict;
  CHECK(list.check("tester", kXbee) == V::admitted);
  CHECK(list.check("tester", kUdp) == V::admitted);
  CHECK(list.check("nobody", kUdp) == V::not_listed);
  CHECK(list.check("sensor1", kXbee) == V::admitted);  // the 16-bit address is not part of identity
  CHECK(list.check("sensor1", kOtherXbee) == V::wrong_address);
  CHECK(list.check("sensor1", kUdp) == V::wrong_address);
  CHECK(list.check("sensor2", kUdp) == V::admitted);
  CHECK(list.check("sensor2", kUdpOtherPort) == V::admitted);  // any port
  CHECK(list.check("sensor3", kUdp) == V::admitted);
  CHECK(list.check("sensor3", kUdpOtherPort) == V::wrong_address);
  CHECK(list.check("sensor4", kUdp6) == V::admitted);
  CHECK(list.check("sensor4", kUdp) == V::wrong_address);
  CHECK(list.check("sensor5", LinkAddress::serial(2)) == V::admitted);
  CHECK(list.check("multi", kXbee) == V::admitted);
  CHECK(list.check("multi", kUdpOtherPort) == V::admitted);
  CHECK(list.check("multi", kOtherXbee) == V::wrong_address);
  CHECK(list.size() == 7);
}

TEST_CASE("admission: errors carry file and line") {
  const auto r = AdmissionList::parse(R"(a xbee:12
b udp:host.example
c udp:1.2.3.4:0
d serial extra
e
e serial
f udp:10.0.0.1
f
)",
                                      "clients");
  CHECK_FALSE(r.list);
  CHECK(to_string(r.errors) ==
        "clients:1: invalid address \"xbee:12\"; expected xbee:<16 hex digits>, udp:<IPv4>[:port], "
        "udp:[<IPv6>][:port], dtls:<identity> or serial\n"
        "clients:2: invalid address \"udp:host.example\"; expected xbee:<16 hex digits>, udp:<IPv4>[:port], "
        "udp:[<IPv6>][:port], dtls:<identity> or serial\n"
        "clients:3: invalid address \"udp:1.2.3.4:0\"; expected xbee:<16 hex digits>, udp:<IPv4>[:port], "
        "udp:[<IPv6>][:port], dtls:<identity> or serial\n"
        "clients:4: invalid node id \"extra\"; expected node:<hex octets>, e.g. node:4E31\n"
        "clients:6: client \"e\" is pinned to an address here but listed without one on line 5\n"
        "clients:8: client \"f\" is listed without an address here but pinned to one on line 7\n");
}

TEST_CASE("access rules: allow_anonymous = false admits only listed clients, from their addresses") {
  const AccessRules rules(false, parse_ok("sensor1 xbee:0013A20040522BAA\ntester\n"), std::nullopt);
  CHECK(rules.may_connect("sensor1", kXbee));
  CHECK_FALSE(rules.may_connect("sensor1", kOtherXbee));
  CHECK(rules.may_connect("tester", kUdp));
  CHECK_FALSE(rules.may_connect("stranger", kUdp));
}

TEST_CASE("access rules: allow_anonymous = true admits strangers but still enforces pinning") {
  const AccessRules rules(true, parse_ok("sensor1 xbee:0013A20040522BAA\n"), std::nullopt);
  CHECK(rules.may_connect("stranger", kUdp));
  CHECK(rules.may_connect("sensor1", kXbee));
  CHECK_FALSE(rules.may_connect("sensor1", kUdp));  // an impostor on another link
}

TEST_CASE("admission: per_node at the end of a line gives the node its own broker connection") {
  const auto list = parse_ok(R"(plain
own per_node
pinned udp:192.168.1.20 per_node
behind dtls:fwd-1 node:4E31 per_node
per_nodeish
)");
  CHECK_FALSE(list.per_node("plain"));
  CHECK(list.per_node("own"));
  CHECK(list.per_node("pinned"));
  CHECK(list.per_node("behind"));
  CHECK_FALSE(list.per_node("per_nodeish"));
  CHECK(list.first_per_node_line() == 2);
  using V = AdmissionList::Verdict;
  CHECK(list.check("own", kXbee) == V::admitted);
  CHECK(list.check("pinned", kUdp) == V::admitted);
  CHECK(list.check("pinned", kXbee) == V::wrong_address);
  const AccessRules rules(true, list, std::nullopt);
  CHECK(rules.upstream_per_node("own"));
  CHECK_FALSE(rules.upstream_per_node("plain"));
  CHECK_FALSE(rules.upstream_per_node("stranger"));
}
