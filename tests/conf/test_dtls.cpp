// The DTLS side of the configuration: the link keys, the PSK file (line-numbered errors, reload) and
// dtls:<identity> pins in the admission list.
#include <doctest/doctest.h>

#include <string>

#include "conf/access_rules.hpp"
#include "conf/config_loader.hpp"
#include "conf/psk_file.hpp"
#include "conf/reload.hpp"
#include "support/temp_dir.hpp"

using namespace mqttsn::conf;
using namespace std::chrono_literals;
using mqttsn::LinkAddress;

namespace {

std::string errors_of(const ConfigErrors& e) {
  return to_string(e);
}

const LinkAddress kNode = LinkAddress::udp4(1, {10, 0, 0, 7}, 40000);

}  // namespace

TEST_CASE("dtls config: the keys of a DTLS link, their defaults, and relative paths") {
  const auto r = parse_config(
      "[[link]]\nkind = \"udp\"\nport = 10001\ndtls = true\npsk_file = \"psk\"\nmax_sessions = 20\n"
      "idle_timeout = \"1m\"\ndiscovery = \"off\"\n",
      "/etc/mqttsn-gw/t.toml");
  REQUIRE_MESSAGE(r.ok(), errors_of(r.errors));
  const auto& d = std::get<UdpLinkConfig>(r.config.links.at(0).settings).dtls;
  CHECK(d.enabled);
  CHECK(d.psk_file == "/etc/mqttsn-gw/psk");
  CHECK(d.max_sessions == 20);
  CHECK(d.max_handshakes == 64);
  CHECK(d.idle_timeout == 1min);
  CHECK(d.handshake_timeout == 30s);
  CHECK_FALSE(d.discovery_in_clear);
  CHECK_FALSE(d.require_client_cert);
  // A plain UDP link is not DTLS.
  const auto plain = parse_config("[[link]]\nkind = \"udp\"\n", "/etc/mqttsn-gw/t.toml");
  REQUIRE(plain.ok());
  CHECK_FALSE(std::get<UdpLinkConfig>(plain.config.links.at(0).settings).dtls.enabled);
}

TEST_CASE("dtls config: each mistake is an error at its line") {
  auto first_error = [](const std::string& text) {
    const auto r = parse_config(text, "t.toml");
    REQUIRE_FALSE(r.ok());
    return r.errors.front().to_string();
  };
  CHECK(first_error("[[link]]\nkind = \"udp\"\npsk_file = \"psk\"\n") ==
        "t.toml:3: link[0].psk_file: only meaningful with dtls = true");
  CHECK(first_error("[[link]]\nkind = \"udp\"\ndtls = true\n") ==
        "t.toml:3: link[0].dtls: a DTLS link needs psk_file, or cert_file and key_file (or both)");
  CHECK(first_error("[[link]]\nkind = \"udp\"\ndtls = true\ncert_file = \"c\"\n") ==
        "t.toml:3: link[0].key_file: the gateway's certificate needs both cert_file and key_file");
  CHECK(
      first_error("[[link]]\nkind = \"udp\"\ndtls = true\npsk_file = \"p\"\nrequire_client_cert = true\n") ==
      "t.toml:3: link[0].require_client_cert: client certificates are verified against ca_file: set it");
  CHECK(first_error("[[link]]\nkind = \"udp\"\ndtls = true\npsk_file = \"p\"\ndiscovery = \"loud\"\n") ==
        "t.toml:5: link[0].discovery: expected one of \"clear\", \"off\", got \"loud\"");
}

TEST_CASE("psk file: identity:hexkey lines, and errors carry file and line") {
  const auto ok = parse_psk_file("# keys\nnode-1:00112233\n\nsite:node-2 : AABBCCDDEEFF\n", "psk");
  REQUIRE_MESSAGE(ok.keys, errors_of(ok.errors));
  CHECK(ok.keys->size() == 2);
  CHECK(ok.keys->at("node-1") == std::vector<std::uint8_t>{0x00, 0x11, 0x22, 0x33});
  CHECK(ok.keys->at("site:node-2").size() == 6);  // the key follows the last ':'

  const auto bad = parse_psk_file("a:0011\nno colon\nb:xyz0\nc:123\na:00\n d e:00\n", "psk");
  CHECK_FALSE(bad.keys);
  REQUIRE(bad.errors.size() == 5);
  CHECK(bad.errors[0].to_string() == "psk:2: expected \"<identity>:<hex key>\", got \"no colon\"");
  CHECK(bad.errors[1].line == 3);
  CHECK(bad.errors[2].line == 4);
  CHECK(bad.errors[3].to_string() == "psk:5: identity \"a\" is already given a key on line 1");
  CHECK(bad.errors[4].line == 6);
}

TEST_CASE(
    "psk file: loaded with the reloadable parts of each enabled DTLS link, and an error refuses the reload") {
  mqttsn::test::TempDir dir("dtls-conf");
  dir.write("psk", "node-1:00112233\n");
  const std::string toml =
      "[[link]]\nkind = \"udp\"\nname = \"sec\"\ndtls = true\npsk_file = \"psk\"\n"
      "[[link]]\nkind = \"udp\"\nname = \"off\"\nport = 10002\nenabled = false\ndtls = true\npsk_file = "
      "\"none\"\n";
  const auto config_file = dir.write("gw.toml", toml);
  const auto loaded = load_config(config_file);
  REQUIRE_MESSAGE(loaded.ok(), errors_of(loaded.errors));
  const auto parts = load_reloadable(loaded.config);
  REQUIRE_MESSAGE(parts.ok(), errors_of(parts.errors));
  REQUIRE(parts.parts->psk_keys.count("sec") == 1);
  CHECK(parts.parts->psk_keys.count("off") == 0);  // disabled: its file is not read
  CHECK(parts.parts->psk_keys.at("sec")->count("node-1") == 1);

  dir.write("psk", "node-1:00112233\nnode-2:zz\n");
  const auto again = reload(config_file, loaded.config);
  CHECK_FALSE(again.ok());
  REQUIRE(again.errors.size() == 1);
  CHECK(again.errors[0].line == 2);
  dir.write("psk", "node-1:00112233\nnode-2:44\n");
  const auto fixed = reload(config_file, loaded.config);
  REQUIRE(fixed.ok());
  CHECK(fixed.parts->psk_keys.at("sec")->size() == 2);
  CHECK(fixed.restart_needed.empty());  // new keys need no restart
}

TEST_CASE(
    "admission: dtls:<identity> pins a client id to an authenticated identity, and the identity to it") {
  const auto r = AdmissionList::parse(
      "sensor-a dtls:node-a\nsensor-a2 dtls:node-a\nsensor-b dtls:node-b\nlegacy udp:10.0.0.7\n", "clients");
  REQUIRE_MESSAGE(r.list, errors_of(r.errors));
  const AccessRules rules(true, r.list, std::nullopt);
  CHECK(rules.may_connect("sensor-a", kNode, "node-a"));
  CHECK(rules.may_connect("sensor-a2", kNode, "node-a"));
  CHECK_FALSE(rules.may_connect("sensor-b", kNode, "node-a"));  // authenticated as A, not B
  CHECK_FALSE(rules.may_connect("sensor-a", kNode, ""));        // not authenticated at all
  CHECK_FALSE(rules.may_connect("sensor-a", kNode));
  CHECK_FALSE(rules.may_connect("anybody", kNode, "node-a"));  // node-a is bound to its client ids
  CHECK(rules.may_connect("anybody", kNode, "node-z"));        // an unpinned identity: anonymous rules
  CHECK(rules.may_connect("legacy", kNode, "node-z"));         // an address pin still matches

  // Through the switchable policy the core holds: the identity is looked up by address.
  SwitchableAccessPolicy policy(std::make_shared<AccessRules>(false, r.list, std::nullopt));
  CHECK_FALSE(policy.may_connect("sensor-a", kNode));
  policy.set_identity_lookup([](const LinkAddress&) { return std::string("node-a"); });
  CHECK(policy.may_connect("sensor-a", kNode));
  CHECK_FALSE(policy.may_connect("sensor-b", kNode));

  const auto bad = AdmissionList::parse("x dtls:\n", "clients");
  CHECK_FALSE(bad.list);
  REQUIRE(bad.errors.size() == 1);
  CHECK(bad.errors[0].line == 1);
}

TEST_CASE("admission: node:<hex> pins a client id to a wireless node behind a forwarder") {
  const auto r = AdmissionList::parse(
      "# fwd-1 carries two nodes; a plain forwarder at 10.0.0.7 one\n"
      "sensor-1 dtls:fwd-1 node:4E31\n"
      "sensor-2 dtls:fwd-1 node:aabbcc\n"
      "sensor-3 udp:10.0.0.7 node:01\n"
      "roamer dtls:fwd-1\n",
      "clients");
  REQUIRE_MESSAGE(r.list, errors_of(r.errors));
  const AccessRules rules(true, r.list, std::nullopt);
  using namespace std::string_view_literals;
  const mqttsn::ConnectOrigin n1(kNode, "N1"sv), n2(kNode, "\xaa\xbb\xcc"sv), other(kNode, "N9"sv);
  CHECK(rules.may_connect("sensor-1", n1, "fwd-1"));
  CHECK_FALSE(rules.may_connect("sensor-1", n2, "fwd-1"));     // another node behind the same forwarder
  CHECK_FALSE(rules.may_connect("sensor-1", n1, "fwd-2"));     // the same node id behind another one
  CHECK_FALSE(rules.may_connect("sensor-1", kNode, "fwd-1"));  // the forwarder itself, not a node
  CHECK(rules.may_connect("sensor-2", n2, "fwd-1"));
  CHECK(rules.may_connect("roamer", other, "fwd-1"));  // no node part: any node behind fwd-1
  CHECK(rules.may_connect("roamer", kNode, "fwd-1"));
  // fwd-1 is bound to the client ids pinned to it, whatever node id it names.
  CHECK_FALSE(rules.may_connect("anybody", other, "fwd-1"));
  // An address pin with a node part.
  CHECK(rules.may_connect("sensor-3", mqttsn::ConnectOrigin(kNode, "\x01"sv)));
  CHECK_FALSE(rules.may_connect("sensor-3", kNode));

  for (const char* bad : {"x dtls:f node:\n", "x dtls:f node:4E3\n", "x dtls:f node:zz\n", "x dtls:f 4E31\n",
                          "x dtls:f node:01 more\n"}) {
    const auto e = AdmissionList::parse(bad, "clients");
    CHECK_FALSE(e.list);
    REQUIRE(e.errors.size() == 1);
    CHECK(e.errors[0].line == 1);
  }
}
