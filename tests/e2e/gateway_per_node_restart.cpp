// Per-node upstream across a gateway restart: a node asleep through it should not notice. Its kept
// session comes back from the store, and its own broker connection is made again at once, with its
// will and its subscriptions, so the broker delivers to its buffer and its will is armed again before
// the node wakes.
#include <doctest/doctest.h>

#include <string>

#include "e2e/e2e_config.hpp"
#include "e2e/e2e_nodes.hpp"
#include "e2e/gateway_process.hpp"
#include "support/mosquitto_broker.hpp"
#include "support/paho_test_client.hpp"

using namespace mqttsn::e2e;
using namespace std::chrono_literals;
using mqttsn::test::GatewayProcess;
using mqttsn::test::MosquittoBroker;
using mqttsn::test::PahoTestClient;

namespace {

std::size_t wills(const PahoTestClient& watcher) {
  std::size_t n = 0;
  for (const auto& m : watcher.messages())
    if (m.topic == "e2e/will/sleepy") ++n;
  return n;
}

}  // namespace

TEST_CASE("per-node: a node asleep through a gateway restart has its connection, will and buffer back") {
  MosquittoBroker broker;
  PahoTestClient watcher(paho_options(broker.uri(), "e2e-pernode-restart-watcher"));
  REQUIRE(watcher.connect());
  REQUIRE(watcher.subscribe("e2e/will/#", 1));
  const std::uint16_t port = free_udp_port();
  GatewayProcess gw(
      GatewayToml{.broker_uri = broker.uri(),
                  .udp_port = port,
                  .upstream_extra = "mode = \"per_node\"\ncredentials_file = \"node-credentials\"\n"}
          .to_toml(),
      "e2e-pernode-restart");
  gw.dir().write("node-credentials", "%c\n");
  auto config = node_config("sleepy", 10);
  config.will = mqttsn::sim::WillConfig{"e2e/will/sleepy", "gone", 1, false};
  NodeHarness nodes({config});
  nodes.open_udp(port);
  REQUIRE_MESSAGE(gw.start(), gw.log());
  REQUIRE_MESSAGE(gw.wait_upstream_connected(), gw.log());
  REQUIRE_MESSAGE(nodes.connect(0), nodes.describe(0) << "\n" << gw.log());
  nodes.act(0, [](NodeClient& n, mqttsn::Millis t) { n.subscribe(TopicRef::named("e2e/cmd/sleepy"), 1, t); });
  REQUIRE_MESSAGE(nodes.wait_event(0, EventKind::subscribed), nodes.describe(0) << "\n" << gw.log());
  nodes.act(0, [](NodeClient& n, mqttsn::Millis t) { n.sleep(120, t); });
  REQUIRE_MESSAGE(nodes.wait_event(0, EventKind::asleep), nodes.describe(0));
  REQUIRE(gw.wait_status("clients", [](const nlohmann::json& j) {
    return !j["clients"].empty() && j["clients"][0]["state"] == "asleep";
  }));

  // The gateway dies: the broker publishes the will of the node's dropped connection.
  gw.kill_hard();
  REQUIRE_MESSAGE(watcher.wait_for(1, 5s), broker.log());
  CHECK(wills(watcher) == 1);

  REQUIRE_MESSAGE(gw.start(), gw.log());
  REQUIRE_MESSAGE(gw.wait_log("1 restored node connection(s) being made again"), gw.log());
  // Connected again before the node has said anything, and subscribed again on its own connection
  // (its broker session was a clean one: the broker forgot the subscription with the connection).
  REQUIRE_MESSAGE(gw.wait_status(
                      "clients",
                      [](const nlohmann::json& j) {
                        return !j["clients"].empty() && j["clients"][0]["upstream"] == "connected";
                      },
                      10s),
                  gw.status("clients").dump() << "\n"
                                              << gw.log());
  CHECK(gw.status("clients")["clients"][0]["state"] == "asleep");
  PahoTestClient commander(paho_options(broker.uri(), "e2e-pernode-restart-commander"));
  REQUIRE(commander.connect());
  // The subscription's SUBACK may still be on its way: publish until the buffer holds one.
  bool buffered = false;
  for (int attempt = 0; attempt < 20 && !buffered; ++attempt) {
    REQUIRE(commander.publish("e2e/cmd/sleepy", "while-asleep", 1, false));
    buffered = gw.wait_status(
        "clients", [](const nlohmann::json& j) { return j["clients"][0]["buffered"].get<int>() >= 1; },
        500ms);
  }
  REQUIRE_MESSAGE(buffered, gw.status("clients").dump() << "\n" << gw.log());

  nodes.act(0, [](NodeClient& n, mqttsn::Millis t) { n.wake(t); });
  REQUIRE_MESSAGE(nodes.wait_event(0, EventKind::awake_done), nodes.describe(0) << "\n" << gw.log());
  const auto got = nodes.events(0, EventKind::message);
  REQUIRE(!got.empty());
  CHECK(text_of(got.front().payload) == "while-asleep");
  CHECK(gw.status("stats")["core"]["stale_upstream_ack"] == 0);

  // The will is armed again on the reopened connection: a second crash publishes it again.
  gw.kill_hard();
  REQUIRE_MESSAGE(watcher.wait_for(2, 5s), broker.log());
  CHECK(wills(watcher) == 2);
}
