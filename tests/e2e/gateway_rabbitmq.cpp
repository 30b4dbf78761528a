// The real mqttsn-gw against RabbitMQ's MQTT plugin, the broker without QoS 2: the readings of
// nodes arrive, and QoS 2 from the nodes leaves nothing behind in the gateway. One RabbitMQ node for
// the whole program (tests/support/rabbitmq_broker.hpp: it takes seconds to start).
#include <doctest/doctest.h>

#include <set>
#include <string>

#include "e2e/e2e_config.hpp"
#include "e2e/e2e_nodes.hpp"
#include "e2e/gateway_process.hpp"
#include "support/paho_test_client.hpp"
#include "support/rabbitmq_broker.hpp"

using namespace mqttsn::e2e;
using namespace std::chrono_literals;
using mqttsn::Millis;
using mqttsn::test::GatewayProcess;
using mqttsn::test::PahoTestClient;
using mqttsn::test::shared_rabbitmq;

namespace {

std::set<std::string> payloads(const PahoTestClient& c) {
  std::set<std::string> s;
  for (const auto& m : c.messages()) s.insert(m.payload);
  return s;
}

}  // namespace

// RabbitMQ answers QoS 2 with PUBACK. Without max_qos the gateway must still deliver each reading,
// keep no record of an exchange that will never complete, and resend nothing after a restart.
TEST_CASE(
    "rabbitmq: QoS 2 readings without max_qos arrive, the gateway says what to set, no record is left") {
  auto& broker = shared_rabbitmq();
  PahoTestClient watcher(paho_options(broker.uri(), "e2e-rmq-watch-q2"));
  REQUIRE(watcher.connect());
  REQUIRE(watcher.subscribe("e2e/rmq/q2/#", 2));
  const std::uint16_t port = free_udp_port();
  GatewayProcess gw(GatewayToml{.broker_uri = broker.uri(), .udp_port = port}.to_toml(), "e2e-rmq-q2");
  NodeHarness nodes({node_config("rmq-q2")});
  nodes.open_udp(port);
  REQUIRE_MESSAGE(gw.start(), tail(gw.log(), 4000));
  REQUIRE_MESSAGE(gw.wait_upstream_connected(30000ms), tail(gw.log(), 4000));
  REQUIRE_MESSAGE(nodes.connect(0), nodes.describe(0));
  constexpr int kTotal = 15;
  for (int i = 0; i < kTotal; ++i)
    REQUIRE_MESSAGE(nodes.publish(0, TopicRef::named("e2e/rmq/q2/t"), "r" + std::to_string(i), 2),
                    nodes.describe(0));
  CHECK(watcher.wait_until([](const auto& ms) { return ms.size() >= 15; }, 15s));
  CHECK(payloads(watcher).size() == static_cast<std::size_t>(kTotal));
  CHECK(gw.wait_status(
      "store", [](const nlohmann::json& j) { return j["store"]["upstream_records"] == 0; }, 10s));
  CHECK(gw.wait_status(
      "store", [](const nlohmann::json& j) { return j["store"]["uplink_queued"] == 0; }, 10s));
  const auto up = gw.status("stats")["upstream"]["counters"];
  CHECK(up["qos2_not_completed"].get<std::uint64_t>() >= 1);
  const std::string log = gw.log();
  const auto first = log.find("max_qos = 1");
  CHECK(first != std::string::npos);
  CHECK(log.find("max_qos = 1", first + 1) == std::string::npos);  // said once

  // A restart resends nothing.
  gw.signal(SIGTERM);
  REQUIRE(gw.wait_exit(10s).has_value());
  const auto before = watcher.count();
  REQUIRE_MESSAGE(gw.start(), tail(gw.log(), 4000));
  REQUIRE_MESSAGE(gw.wait_upstream_connected(30000ms), tail(gw.log(), 4000));
  watcher.wait_for(before + 1, 2s);
  CHECK(watcher.count() == before);
}

TEST_CASE("rabbitmq: with max_qos = 1, QoS 0, 1 and 2 readings arrive and a QoS 2 subscription gets QoS 1") {
  auto& broker = shared_rabbitmq();
  PahoTestClient watcher(paho_options(broker.uri(), "e2e-rmq-watch-max1"));
  REQUIRE(watcher.connect());
  REQUIRE(watcher.subscribe("e2e/rmq/max1/#", 1));
  const std::uint16_t port = free_udp_port();
  GatewayProcess gw(
      GatewayToml{.broker_uri = broker.uri(), .udp_port = port, .upstream_extra = "max_qos = 1\n"}.to_toml(),
      "e2e-rmq-max1");
  NodeHarness nodes({node_config("rmq-max1")});
  nodes.open_udp(port);
  REQUIRE_MESSAGE(gw.start(), tail(gw.log(), 4000));
  REQUIRE_MESSAGE(gw.wait_upstream_connected(30000ms), tail(gw.log(), 4000));
  REQUIRE_MESSAGE(nodes.connect(0), nodes.describe(0));
  for (int q = 0; q <= 2; ++q)
    REQUIRE_MESSAGE(nodes.publish(0, TopicRef::named("e2e/rmq/max1/up"), "q" + std::to_string(q),
                                  static_cast<mqttsn::QoS>(q)),
                    nodes.describe(0));
  CHECK(watcher.wait_for(3, 10s));
  CHECK(payloads(watcher) == std::set<std::string>{"q0", "q1", "q2"});
  for (const auto& m : watcher.messages()) CHECK(m.qos <= 1);

  nodes.act(0, [](NodeClient& n, Millis t) { n.subscribe(TopicRef::named("e2e/rmq/max1/down"), 2, t); });
  const auto sub = nodes.wait_event(0, EventKind::subscribed);
  REQUIRE_MESSAGE(sub.has_value(), nodes.describe(0));
  CHECK(sub->qos == 1);
  REQUIRE(watcher.publish("e2e/rmq/max1/down", "cmd", 1, false));
  const auto msg = nodes.wait_event(0, EventKind::message, 10s);
  REQUIRE_MESSAGE(msg.has_value(), nodes.describe(0));
  CHECK(std::string(msg->payload.begin(), msg->payload.end()) == "cmd");
  const auto up = gw.status("stats")["upstream"]["counters"];
  CHECK(up["qos2_not_completed"] == 0);
}
