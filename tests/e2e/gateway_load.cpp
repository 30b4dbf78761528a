// Many nodes at once through the real mqttsn-gw, on the XBee pty in API mode 2: concurrent QoS 1 and
// 2 streams whose payloads are full of the bytes API mode 2 must escape (0x7E 0x7D 0x11 0x13) reach
// the broker exactly and in order per node and QoS; and the real mqttsn-sim program, run as the README's
// demo runs it, completes its readings with exit 0.
#include <doctest/doctest.h>

#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "e2e/e2e_child.hpp"
#include "e2e/e2e_config.hpp"
#include "e2e/e2e_nodes.hpp"
#include "e2e/gateway_process.hpp"
#include "support/mosquitto_broker.hpp"
#include "support/paho_test_client.hpp"

using namespace mqttsn::e2e;
using namespace std::chrono_literals;
using mqttsn::Millis;
using mqttsn::test::GatewayProcess;
using mqttsn::test::MosquittoBroker;
using mqttsn::test::PahoTestClient;

namespace {

std::string topic_for(std::size_t node, int qos) {
  return "e2e/load/" + std::to_string(node) + "/q" + std::to_string(qos);
}

std::string payload_for(std::size_t node, int k) {
  std::string p{'\x7E', '\x7D', '\x11', '\x13', static_cast<char>(node), static_cast<char>(k), '\x7E'};
  return p + "n" + std::to_string(node) + "-" + std::to_string(k);
}

// The text part of each payload (after the 7 binary bytes), for failure messages.
std::string printable(const std::vector<std::string>& payloads) {
  std::string s;
  for (const auto& p : payloads) s += " " + (p.size() > 7 ? p.substr(7) : "?");
  return s;
}

std::map<std::string, std::vector<std::string>> by_topic(
    const std::vector<mqttsn::test::ReceivedMessage>& ms) {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& m : ms) out[m.topic].push_back(m.payload);
  return out;
}

}  // namespace

TEST_CASE(
    "XBee API mode 2: 8 nodes publish concurrently, payloads needing escapes arrive exactly and in order") {
  constexpr std::size_t kNodes = 8;
  constexpr int kEach = 10;
  MosquittoBroker broker;
  PahoTestClient sub(paho_options(broker.uri(), "e2e-load-sub"));
  REQUIRE(sub.connect());
  REQUIRE(sub.subscribe("e2e/load/#", 2));

  GatewayToml cfg{.broker_uri = broker.uri(), .xbee_device = "{dir}/xbee", .xbee_api_mode = 2};
  GatewayProcess gw(cfg.to_toml(), "e2e-load");
  std::vector<NodeConfig> configs;
  for (std::size_t i = 0; i < kNodes; ++i) configs.push_back(node_config("load-" + std::to_string(i)));
  NodeHarness nodes(std::move(configs));
  nodes.open_xbee(gw.dir().file("xbee"), mqttsn::radio::xbee::ApiMode::escaped);
  REQUIRE_MESSAGE(gw.start(), gw.log());
  REQUIRE_MESSAGE(gw.wait_upstream_connected(), gw.log());

  for (std::size_t i = 0; i < kNodes; ++i) nodes.act(i, [](NodeClient& n, Millis t) { n.connect(t); });
  REQUIRE_MESSAGE(nodes.run_until([&] {
    for (std::size_t i = 0; i < kNodes; ++i)
      if (nodes.count(i, EventKind::connected) == 0) return false;
    return true;
  }),
                  nodes.describe(0) << "\n"
                                    << gw.log());

  for (int k = 0; k < kEach; ++k)
    for (std::size_t i = 0; i < kNodes; ++i)
      nodes.act(i, [&](NodeClient& n, Millis t) {
        const int qos = 1 + k % 2;
        n.publish(TopicRef::named(topic_for(i, qos)), bytes_of(payload_for(i, k)),
                  static_cast<mqttsn::QoS>(qos), false, t);
      });
  const bool done = nodes.run_until(
      [&] {
        for (std::size_t i = 0; i < kNodes; ++i)
          if (!nodes.node(i).idle()) return false;
        return true;
      },
      20s);
  REQUIRE_MESSAGE(done, nodes.describe(0));
  for (std::size_t i = 0; i < kNodes; ++i) {
    CAPTURE(i);
    CHECK(nodes.count(i, EventKind::published) == kEach);
    CHECK_MESSAGE(nodes.count(i, EventKind::failure) == 0, nodes.describe(i) << (i == 0 ? gw.log() : ""));
  }

  REQUIRE_MESSAGE(sub.wait_for(kNodes * kEach, 10s), "got " << sub.count());
  // MQTT keeps the order of one client's messages within one QoS only (the gateway may pass a QoS 1
  // publish up while the broker still waits for the PUBREL of an earlier QoS 2 one): each node
  // publishes QoS 1 and QoS 2 on topics of their own, and each topic must be exact and in order.
  const auto got = by_topic(sub.messages());
  CHECK(got.size() == 2 * kNodes);
  for (std::size_t i = 0; i < kNodes; ++i) {
    for (int qos = 1; qos <= 2; ++qos) {
      std::vector<std::string> want;
      for (int k = 0; k < kEach; ++k)
        if (1 + k % 2 == qos) want.push_back(payload_for(i, k));
      const auto it = got.find(topic_for(i, qos));
      REQUIRE(it != got.end());
      CHECK_MESSAGE(it->second == want, "node " << i << " QoS " << qos << ": " << printable(it->second));
    }
  }
  CHECK(sub.count() == kNodes * kEach);

  // Nothing on the line was garbled or refused.
  const auto stats = gw.status("stats");
  for (const auto& l : stats["links"]) {
    CHECK(l["counters"]["bad_checksum"] == 0);
    CHECK(l["counters"]["malformed_frames"] == 0);
    CHECK(l["counters"]["tx_failures"] == 0);
  }
}

TEST_CASE("mqttsn-sim: 4 nodes on the XBee pty publish their readings through the gateway and exit 0") {
  MosquittoBroker broker;
  PahoTestClient sub(paho_options(broker.uri(), "e2e-sim-sub"));
  REQUIRE(sub.connect());
  REQUIRE(sub.subscribe("e2e/sim/#", 1));

  GatewayToml cfg{.broker_uri = broker.uri(), .xbee_device = "{dir}/xbee"};
  GatewayProcess gw(cfg.to_toml(), "e2e-sim");
  const std::string link = gw.dir().file("xbee");
  ChildProcess sim({std::string(MQTTSN_BINARY_DIR) + "/tools/sim/mqttsn-sim", "--nodes", "4", "--link", link,
                    "--api", "2", "--topic", "e2e/sim/%n/temperature", "--qos", "1", "--period", "50ms",
                    "--count", "5", "--t-retry", "2s"},
                   gw.dir().file("sim.log"));
  REQUIRE(sim.started());
  // The simulator creates the pty and its link; the gateway opens it.
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (!std::filesystem::exists(link) && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(10ms);
  REQUIRE_MESSAGE(std::filesystem::exists(link), sim.log());
  REQUIRE_MESSAGE(gw.start(), gw.log());

  const auto status = sim.wait_exit(20s);
  REQUIRE_MESSAGE(status, sim.log());
  CHECK_MESSAGE(*status == 0, sim.log() << "\n" << gw.log());
  REQUIRE_MESSAGE(sub.wait_for(20, 5s), "got " << sub.count() << "\n" << sim.log());
  const auto got = by_topic(sub.messages());
  CHECK(got.size() == 4);
  for (int n = 1; n <= 4; ++n) {
    const auto it = got.find("e2e/sim/" + std::to_string(n) + "/temperature");
    REQUIRE(it != got.end());
    CHECK(it->second.size() == 5);
    for (const auto& reading : it->second) CHECK(reading.find('.') != std::string::npos);
  }
  CHECK(sub.count() == 20);
}
