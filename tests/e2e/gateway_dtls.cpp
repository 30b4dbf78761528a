// DTLS links through the real mqttsn-gw: simulated nodes (tools/sim's DTLS transport) publish at
// QoS 0, 1 and 2 and receive a command; a node authenticated as one identity cannot CONNECT as
// another client id; openssl s_client, an independent client, handshakes with a PSK and gets a
// CONNACK; SIGHUP brings in a new key; a sleeping node keeps its association until its session
// ends; certificate nodes are identified by their CN; a forwarder carries only the node ids pinned
// to its identity; --check-config opens the certificate files; OpenSSL is mapped only with a DTLS
// link.
#include <doctest/doctest.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>

#include "e2e/e2e_config.hpp"
#include "e2e/e2e_nodes.hpp"
#include "e2e/gateway_process.hpp"
#include "support/mosquitto_broker.hpp"
#include "support/paho_test_client.hpp"
#include "support/run_command.hpp"
#include "support/temp_dir.hpp"
#include "support/test_pki.hpp"

using namespace mqttsn::e2e;
using namespace std::chrono_literals;
using mqttsn::ReturnCode;
using mqttsn::test::GatewayProcess;
using mqttsn::test::MosquittoBroker;
using mqttsn::test::PahoTestClient;

namespace {

constexpr const char* kKeyA = "6c3f0a9be1d24f8c7a5e0b1d9f3c2a44";
constexpr const char* kKeyB = "0102030405060708090a0b0c0d0e0f10";

std::string dtls_link(std::uint16_t port, const std::string& more) {
  return "\n[[link]]\nkind = \"udp\"\nname = \"sec\"\nbind_address = \"127.0.0.1\"\nport = " +
         std::to_string(port) +
         "\nbroadcast_address = \"\"\ndtls = true\npsk_file = \"psk\"\nhandshake_timeout = \"30s\"\n" + more;
}

// The files a process maps (/proc/PID/maps).
std::string mapped_files(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/maps");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::shared_ptr<mqttsn::radio::DtlsClientContext> psk(const std::string& identity, const std::string& hex) {
  std::string error;
  auto contexts = mqttsn::sim::make_dtls_contexts(identity + ":" + hex, "", "", "", 1, error);
  REQUIRE_MESSAGE(!contexts.empty(), error);
  return contexts.front();
}

struct DtlsSetup {
  std::string link_keys_;
  MosquittoBroker broker;
  PahoTestClient watcher;
  std::uint16_t port = free_udp_port();
  GatewayProcess gw;

  explicit DtlsSetup(GatewayToml toml, const std::string& clients = "", const std::string& link_keys = "")
      : link_keys_(link_keys),
        watcher(paho_options(broker.uri(), "e2e-dtls-watcher")),
        gw(with_link(std::move(toml)).to_toml(), "e2e-dtls") {
    REQUIRE(watcher.connect());
    REQUIRE(watcher.subscribe("e2e/#", 2));
    gw.dir().write("psk", std::string("# test keys\nnode-a:") + kKeyA + "\nnode-b:" + kKeyB + "\n");
    if (!clients.empty()) gw.dir().write("clients", clients);
    REQUIRE_MESSAGE(gw.start(), gw.log());
    REQUIRE_MESSAGE(gw.wait_upstream_connected(), gw.log());
  }
  GatewayToml with_link(GatewayToml toml) {
    toml.broker_uri = broker.uri();
    toml.extra += dtls_link(port, link_keys_);
    return toml;
  }
  std::uint64_t link_counter(const char* name) {
    const auto stats = gw.status("stats");  // kept: the loop walks a part of it
    for (const auto& l : stats["links"])
      if (l.value("name", std::string()) == "sec") return l["counters"].value(name, std::uint64_t{0});
    return 0;
  }
};

}  // namespace

TEST_CASE("dtls: PSK nodes publish at QoS 0, 1 and 2 and receive a command through the secure link") {
  DtlsSetup s(GatewayToml{});
  NodeHarness nodes({node_config("dtls-pub")});
  nodes.open_dtls(s.port, {psk("node-a", kKeyA)});
  REQUIRE_MESSAGE(nodes.connect(0), nodes.describe(0) << "\n" << s.gw.log());
  CHECK_MESSAGE(nodes.publish(0, TopicRef::named("e2e/dtls/q0"), "m0", 0), nodes.describe(0));
  CHECK_MESSAGE(nodes.publish(0, TopicRef::named("e2e/dtls/q1"), "m1", 1), nodes.describe(0));
  CHECK_MESSAGE(nodes.publish(0, TopicRef::named("e2e/dtls/q2"), "m2", 2), nodes.describe(0));
  REQUIRE_MESSAGE(s.watcher.wait_for(3, 5s), s.gw.log());
  std::multiset<std::string> got;
  for (const auto& m : s.watcher.messages())
    got.insert(m.topic + "=" + m.payload + "@" + std::to_string(m.qos));
  CHECK(got == std::multiset<std::string>{"e2e/dtls/q0=m0@0", "e2e/dtls/q1=m1@1", "e2e/dtls/q2=m2@2"});

  // Downlink: a subscription, and a QoS 1 command from the broker.
  nodes.act(0, [](NodeClient& n, mqttsn::Millis t) { n.subscribe(TopicRef::named("cmd/dtls-pub"), 1, t); });
  REQUIRE_MESSAGE(nodes.wait_event(0, EventKind::subscribed), nodes.describe(0));
  REQUIRE(s.watcher.publish("cmd/dtls-pub", "open", 1, false));
  const auto msg = nodes.wait_event(0, EventKind::message);
  REQUIRE_MESSAGE(msg, nodes.describe(0));
  CHECK(text_of(msg->payload) == "open");

  CHECK(s.link_counter("dtls_handshakes_ok") == 1);
  CHECK(s.link_counter("dtls_sessions") == 1);
  CHECK(s.link_counter("datagrams_in") >= 5);
  // The link came from its module, which brought OpenSSL in.
  const std::string maps = mapped_files(s.gw.pid());
  CHECK(maps.find("mqttsn-dtls.so") != std::string::npos);
  CHECK(maps.find("libssl.so") != std::string::npos);
}

TEST_CASE("dtls: a gateway without a DTLS link does not map OpenSSL") {
  MosquittoBroker broker;
  GatewayToml toml;
  toml.broker_uri = broker.uri();
  toml.udp_port = free_udp_port();
  GatewayProcess gw(toml.to_toml(), "e2e-no-dtls");
  REQUIRE_MESSAGE(gw.start(), gw.log());
  REQUIRE_MESSAGE(gw.wait_upstream_connected(), gw.log());
  const std::string maps = mapped_files(gw.pid());
  REQUIRE(maps.find("mqttsn-gw") != std::string::npos);  // the read worked
  CHECK_MESSAGE(maps.find("libssl.so") == std::string::npos, maps);
  CHECK_MESSAGE(maps.find("libcrypto.so") == std::string::npos, maps);
  CHECK(maps.find("mqttsn-dtls.so") == std::string::npos);
}

TEST_CASE("dtls: a node authenticated as A cannot CONNECT as B, and a wrong key gets nothing") {
  DtlsSetup s(GatewayToml{.allow_anonymous = false, .clients_file = "clients"},
              "sensor-a dtls:node-a\nsensor-b dtls:node-b\n");
  NodeHarness nodes({node_config("sensor-a"), node_config("sensor-b"), node_config("sensor-a")});
  nodes.open_dtls(s.port, {psk("node-a", kKeyA), psk("node-a", kKeyA), psk("node-a", kKeyB)});
  CHECK_MESSAGE(nodes.connect(0), nodes.describe(0) << "\n" << s.gw.log());
  CHECK_FALSE(nodes.connect(1));  // node-a's key, sensor-b's client id
  const auto failures = nodes.events(1, EventKind::failure);
  REQUIRE_MESSAGE(!failures.empty(), nodes.describe(1));
  CHECK(failures.front().rc == ReturnCode::not_supported);
  CHECK_FALSE(nodes.connect(2, 2000ms));  // node-a's identity, another key: no association at all
  CHECK(s.gw.status("clients")["clients"].size() == 1);
  CHECK(s.link_counter("dtls_sessions") == 2);
}

TEST_CASE("dtls: openssl s_client as an independent client, and a key added by SIGHUP") {
  DtlsSetup s(GatewayToml{});
  const std::string out = s.gw.dir().file("s_client.out");
  // CONNECT (CleanSession, keep-alive 60 s, client id "ossl01"), held open for a second for the CONNACK.
  auto run = [&](const std::string& identity, const std::string& key) {
    const std::string cmd =
        "(printf '\\014\\004\\004\\001\\000\\074ossl01'; sleep 1) | timeout 5 openssl s_client "
        "-dtls1_2 -quiet -connect 127.0.0.1:" +
        std::to_string(s.port) + " -psk_identity " + identity + " -psk " + key + " > " + out + " 2>/dev/null";
    [[maybe_unused]] const int rc = std::system(cmd.c_str());
    std::ifstream in(out, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  CHECK(run("node-a", kKeyA) == std::string("\x03\x05\x00", 3));  // CONNACK accepted
  CHECK(run("node-c", "aabbccdd").empty());
  s.gw.dir().write("psk", std::string("node-a:") + kKeyA + "\nnode-c:aabbccdd\n");
  s.gw.signal(SIGHUP);
  REQUIRE_MESSAGE(s.gw.wait_log("PSK file(s)"), s.gw.log());
  CHECK(run("node-c", "aabbccdd") == std::string("\x03\x05\x00", 3));
  CHECK(s.link_counter("dtls_failed_psk_identity") == 1);
  CHECK(s.link_counter("dtls_handshakes_ok") == 2);
}

TEST_CASE("dtls: a sleeping node keeps its association and wakes without a handshake") {
  // Associations without a session would close after 1 s: the sleeper's must not.
  DtlsSetup s(GatewayToml{}, "", "idle_timeout = \"1s\"\n");
  NodeHarness nodes({node_config("dtls-sleeper", 10), node_config("dtls-idle")});
  nodes.open_dtls(s.port, {psk("node-a", kKeyA), psk("node-b", kKeyB)});
  REQUIRE_MESSAGE(nodes.connect(0), nodes.describe(0) << "\n" << s.gw.log());
  nodes.act(0,
            [](NodeClient& n, mqttsn::Millis t) { n.subscribe(TopicRef::named("cmd/dtls-sleeper"), 1, t); });
  REQUIRE_MESSAGE(nodes.wait_event(0, EventKind::subscribed), nodes.describe(0));
  nodes.act(0, [](NodeClient& n, mqttsn::Millis t) { n.sleep(600, t); });
  REQUIRE_MESSAGE(nodes.wait_event(0, EventKind::asleep), nodes.describe(0));
  // Node 1 connects, disconnects and stays silent: its association, without a session now, goes
  // after the idle timeout.
  REQUIRE_MESSAGE(nodes.connect(1), nodes.describe(1));
  nodes.act(1, [](NodeClient& n, mqttsn::Millis t) { n.disconnect(t); });
  REQUIRE(s.watcher.publish("cmd/dtls-sleeper", "while-asleep", 1, false));
  REQUIRE_MESSAGE(
      s.gw.wait_status("stats",
                       [&](const nlohmann::json&) { return s.link_counter("dtls_idle_closed") == 1; }),
      s.gw.log());
  nodes.run_for(1500ms);  // longer than the idle timeout, asleep
  nodes.act(0, [](NodeClient& n, mqttsn::Millis t) { n.wake(t); });
  REQUIRE_MESSAGE(nodes.wait_event(0, EventKind::awake_done, 10s), nodes.describe(0));
  const auto msg = nodes.events(0, EventKind::message);
  REQUIRE(msg.size() == 1);
  CHECK(text_of(msg[0].payload) == "while-asleep");
  CHECK(s.link_counter("dtls_handshakes_ok") == 2);  // one per node: the wake-up needed none
  CHECK(s.link_counter("dtls_sessions") == 1);
  // The operator ends its session: the association, held by nothing now, goes after the idle timeout.
  CHECK(s.gw.gwctl({"kick", "dtls-sleeper"}).exit_status == 0);
  CHECK_MESSAGE(s.gw.wait_status(
                    "stats", [&](const nlohmann::json&) { return s.link_counter("dtls_idle_closed") == 2; }),
                s.gw.log());
  CHECK(s.link_counter("dtls_sessions") == 0);
}

TEST_CASE("dtls: certificate nodes, identified by their CN, pinned in the admission list") {
  mqttsn::test::TempDir pki_dir("e2e-dtls-pki");
  const auto pki = mqttsn::test::make_test_pki(pki_dir);
  const auto cert_a = mqttsn::test::make_client_cert(pki_dir, pki, "meter-a");
  const auto rogue = mqttsn::test::make_client_cert(pki_dir, pki, "meter-a", true);  // same CN, other CA
  DtlsSetup s(GatewayToml{.allow_anonymous = false, .clients_file = "clients"}, "meter-1 dtls:meter-a\n",
              "cert_file = \"" + pki.server_cert + "\"\nkey_file = \"" + pki.server_key + "\"\nca_file = \"" +
                  pki.ca_cert + "\"\nrequire_client_cert = true\n");
  auto context = [&](const mqttsn::test::TestCert& c) {
    std::string error;
    auto contexts = mqttsn::sim::make_dtls_contexts("", c.cert, c.key, pki.ca_cert, 1, error);
    REQUIRE_MESSAGE(!contexts.empty(), error);
    return contexts.front();
  };
  NodeHarness nodes({node_config("meter-1"), node_config("meter-2"), node_config("meter-1")});
  auto& transports = nodes.open_dtls(s.port, {context(cert_a), context(cert_a), context(rogue)});
  CHECK_MESSAGE(nodes.connect(0, 15s), nodes.describe(0) << "\n" << s.gw.log());
  CHECK_MESSAGE(nodes.publish(0, TopicRef::named("e2e/dtls/meter"), "42", 1), nodes.describe(0));
  // meter-a's certificate, another client id: an association, and a refused CONNECT.
  CHECK_MESSAGE(nodes.connect_refused(1, 15s) == ReturnCode::not_supported, nodes.describe(1));
  // A CN signed by a CA the gateway does not trust: the handshake fails, so no association. Two
  // ECDSA handshakes can take seconds on a loaded machine, hence waiting on the outcome rather
  // than on a fixed time; the node is muted then, so its CONNECT retry starts no second handshake.
  nodes.act(2, [](NodeClient& n, mqttsn::Millis t) { n.connect(t); });
  CHECK_MESSAGE(nodes.run_until([&] { return transports.stats().failures >= 1; }, 15s), nodes.describe(2));
  nodes.mute(2);
  CHECK_MESSAGE(s.gw.wait_status("stats",
                                 [&](const nlohmann::json&) {
                                   return s.link_counter("dtls_failed_certificate") == 1 &&
                                          s.link_counter("dtls_sessions") == 2;
                                 }),
                s.gw.log());
  REQUIRE(s.watcher.wait_for(1, 5s));
  CHECK(s.watcher.messages().at(0).payload == "42");
}

TEST_CASE("dtls: --check-config opens the certificate files the way the link would at start") {
  mqttsn::test::TempDir dir("dtls-check");
  const auto pki = mqttsn::test::make_test_pki(dir);
  dir.write("psk", std::string("node-a:") + kKeyA + "\n");
  auto config = [&](const std::string& key_file) {
    GatewayToml toml;
    toml.broker_uri = "tcp://127.0.0.1:1";
    toml.extra += dtls_link(free_udp_port(), "cert_file = \"" + pki.server_cert + "\"\nkey_file = \"" +
                                                 key_file + "\"\nca_file = \"" + pki.ca_cert + "\"\n");
    return dir.write("gw.toml", toml.to_toml());
  };
  auto check = [&](const std::string& file) {
    return mqttsn::test::run_command({mqttsn::test::gateway_binary(), "--config", file, "--check-config"},
                                     dir.file("check.log"));
  };
  auto log = [&] {
    std::ifstream in(dir.file("check.log"));
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  CHECK_MESSAGE(check(config(pki.server_key)) == 0, log());
  // A key that is not the certificate's: readable, so only loading it tells.
  CHECK(check(config(pki.ca_key)) == 1);
  CHECK_MESSAGE(log().find("link \"sec\": cannot use certificate") != std::string::npos, log());
  // A key that is not there: named at its line.
  CHECK(check(config(dir.file("missing.key"))) == 1);
  CHECK_MESSAGE(log().find("].key_file: cannot read") != std::string::npos, log());
}

TEST_CASE("dtls: a forwarder authenticates as itself and carries only the node ids pinned to it") {
  // The forwarder's association is authenticated as node-a; the admission list names which wireless
  // node behind it may be which client.
  DtlsSetup s(GatewayToml{.allow_anonymous = false, .clients_file = "clients"},
              "sensor-1 dtls:node-a node:0102\nsensor-2 dtls:node-a node:AABBCC\n");
  NodeHarness nodes({node_config("sensor-1"), node_config("sensor-2"), node_config("sensor-1")});
  nodes.open_dtls_forwarder(s.port, psk("node-a", kKeyA), {{0x01, 0x02}, {0xAA, 0xBB, 0xCC}, {0x09, 0x99}});
  REQUIRE_MESSAGE(nodes.connect(0), nodes.describe(0) << "\n" << s.gw.log());
  REQUIRE_MESSAGE(nodes.connect(1), nodes.describe(1) << "\n" << s.gw.log());
  CHECK(nodes.publish(0, TopicRef::named("e2e/fwd/one"), "via-forwarder", 1));
  REQUIRE(s.watcher.wait_for(1, 5s));
  // sensor-1's client id from another node behind the same forwarder: refused.
  CHECK_FALSE(nodes.connect(2, 3000ms));
  const auto failures = nodes.events(2, EventKind::failure);
  REQUIRE_MESSAGE(!failures.empty(), nodes.describe(2));
  CHECK(failures.front().rc == ReturnCode::not_supported);
  // One association carries both nodes.
  CHECK(s.link_counter("dtls_sessions") == 1);
  CHECK(s.link_counter("dtls_handshakes_ok") == 1);
  const auto clients = s.gw.status("clients")["clients"];
  CHECK(clients.size() == 2);
}
