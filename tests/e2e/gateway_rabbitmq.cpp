// The real mqttsn-gw against RabbitMQ's MQTT plugin, the broker without QoS 2: the readings of
// nodes arrive, and QoS 2 from the nodes leaves nothing behind in the gateway; a node's will and the
// gateway's own reach subscribers; a node's kept session survives a SIGKILL of the gateway; a broker
// restart mid-stream loses nothing a node was acknowledged for. One RabbitMQ node for the whole
// program (tests/support/rabbitmq_broker.hpp: it takes seconds to start), so each case has topics
// and client ids of its own.
#include <doctest/doctest.h>

#include <csignal>
#include <set>
#include <string>
#include <thread>
#include <vector>

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

bool has(const std::vector<mqttsn::test::ReceivedMessage>& ms, const std::string& topic,
         const std::string& payload) {
  for (const auto& m : ms)
    if (m.topic == topic && m.payload == payload) return true;
  return false;
}

// RabbitMQ does no QoS 2: the gateway is told so, as the README says to.
GatewayToml on_rabbitmq(std::uint16_t udp_port) {
  return GatewayToml{
      .broker_uri = shared_rabbitmq().uri(), .udp_port = udp_port, .upstream_extra = "max_qos = 1\n"};
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
  GatewayProcess gw(on_rabbitmq(port).to_toml(), "e2e-rmq-max1");
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

TEST_CASE("rabbitmq: a silent node's will, and the gateway's own when it is killed, reach a subscriber") {
  auto& broker = shared_rabbitmq();
  PahoTestClient watcher(paho_options(broker.uri(), "e2e-rmq-will-watch"));
  REQUIRE(watcher.connect());
  REQUIRE(watcher.subscribe("e2e/rmq/will/#", 1));
  const std::uint16_t port = free_udp_port();
  auto cfg = on_rabbitmq(port);
  cfg.presence_topic = "e2e/rmq/will/gateway";
  GatewayProcess gw(cfg.to_toml(), "e2e-rmq-will");
  auto c = node_config("rmq-mortal", 2);
  c.will = mqttsn::sim::WillConfig{"e2e/rmq/will/mortal", "gone", 1, false};
  NodeHarness nodes({c});
  nodes.open_udp(port);
  REQUIRE_MESSAGE(gw.start(), tail(gw.log(), 4000));
  REQUIRE_MESSAGE(gw.wait_upstream_connected(30000ms), tail(gw.log(), 4000));
  REQUIRE(watcher.wait_until([](const auto& ms) { return has(ms, "e2e/rmq/will/gateway", "online"); }, 10s));
  REQUIRE_MESSAGE(nodes.connect(0), nodes.describe(0));
  REQUIRE_MESSAGE(nodes.wait_event(0, EventKind::pong, 4s), nodes.describe(0));
  CHECK_FALSE(has(watcher.messages(), "e2e/rmq/will/mortal", "gone"));

  // The node goes silent: after 1.5 x its 2 s keep-alive the gateway publishes its will.
  nodes.mute(0);
  CHECK_MESSAGE(
      watcher.wait_until([](const auto& ms) { return has(ms, "e2e/rmq/will/mortal", "gone"); }, 10s),
      tail(gw.log(), 4000));

  // The gateway dies without a DISCONNECT: the broker publishes the will the gateway connected with.
  gw.kill_hard();
  CHECK(watcher.wait_until([](const auto& ms) { return has(ms, "e2e/rmq/will/gateway", "offline"); }, 15s));
  std::size_t wills = 0;
  for (const auto& m : watcher.messages()) wills += m.topic == "e2e/rmq/will/mortal" ? 1 : 0;
  CHECK(wills == 1);
}

TEST_CASE("rabbitmq: a kept session survives a SIGKILL of the gateway: old topic ids work, messages arrive") {
  auto& broker = shared_rabbitmq();
  PahoTestClient watcher(paho_options(broker.uri(), "e2e-rmq-kept-watch"));
  REQUIRE(watcher.connect());
  REQUIRE(watcher.subscribe("e2e/rmq/kept/up/#", 1));
  PahoTestClient commander(paho_options(broker.uri(), "e2e-rmq-kept-commander"));
  REQUIRE(commander.connect());
  const std::uint16_t port = free_udp_port();
  GatewayProcess gw(on_rabbitmq(port).to_toml(), "e2e-rmq-kept");
  auto nc = node_config("rmq-keeper");
  nc.clean_session = false;
  NodeHarness nodes({nc});
  nodes.open_udp(port);
  REQUIRE_MESSAGE(gw.start(), tail(gw.log(), 4000));
  REQUIRE_MESSAGE(gw.wait_upstream_connected(30000ms), tail(gw.log(), 4000));
  REQUIRE_MESSAGE(nodes.connect(0), nodes.describe(0));
  const std::string topic = "e2e/rmq/kept/up/a";
  nodes.act(0, [&](NodeClient& n, Millis t) { n.register_topic(topic, t); });
  REQUIRE_MESSAGE(nodes.wait_event(0, EventKind::registered), nodes.describe(0));
  nodes.act(0, [](NodeClient& n, Millis t) { n.subscribe(TopicRef::named("e2e/rmq/kept/cmd"), 1, t); });
  REQUIRE_MESSAGE(nodes.wait_event(0, EventKind::subscribed), nodes.describe(0));
  REQUIRE(gw.wait_subscribed_upstream("e2e/rmq/kept/cmd"));
  REQUIRE(gw.wait_status("store", [](const nlohmann::json& j) { return j["store"]["sessions_kept"] == 1; }));
  const auto id_before = nodes.node(0).topic_id(topic);
  const std::size_t registered_before = nodes.count(0, EventKind::registered);

  gw.kill_hard();
  // Kept for the gateway's session by the broker (a durable queue) while the gateway is down.
  const std::vector<std::string> while_down{"d1", "d2", "d3"};
  for (const auto& p : while_down) REQUIRE(commander.publish("e2e/rmq/kept/cmd", p, 1, false));
  const auto log_before = gw.log().size();
  REQUIRE_MESSAGE(gw.start(), tail(gw.log(), 4000));
  CHECK_MESSAGE(gw.wait_log("1 kept session(s) restored", log_before), gw.log().substr(log_before));
  REQUIRE_MESSAGE(
      nodes.run_until([&] { return nodes.count(0, EventKind::message) >= while_down.size(); }, 30s),
      nodes.describe(0) << "\n"
                        << gw.log().substr(log_before));
  std::vector<std::string> got;
  for (const auto& e : nodes.events(0, EventKind::message)) got.push_back(text_of(e.payload));
  CHECK(got == while_down);

  // The old topic id, without a REGISTER, and the subscription still delivers.
  CHECK(nodes.node(0).topic_id(topic) == id_before);
  CHECK_MESSAGE(nodes.publish(0, TopicRef::named(topic), "after", 1), nodes.describe(0));
  CHECK(nodes.count(0, EventKind::registered) == registered_before);
  CHECK(watcher.wait_until([&](const auto& ms) { return has(ms, topic, "after"); }, 10s));
  REQUIRE(commander.publish("e2e/rmq/kept/cmd", "live", 1, false));
  REQUIRE_MESSAGE(
      nodes.run_until([&] { return nodes.count(0, EventKind::message) > while_down.size(); }, 10s),
      nodes.describe(0));
  CHECK(text_of(nodes.events(0, EventKind::message).back().payload) == "live");
  CHECK(nodes.count(0, EventKind::failure) == 0);
}

// The node streams on while RabbitMQ stops cleanly and starts again (its durable queues kept): what
// the gateway acknowledged meanwhile waits in its store and goes up once the broker is back.
TEST_CASE("rabbitmq: a broker restart mid-stream loses nothing a node was acknowledged for") {
  auto& broker = shared_rabbitmq();
  auto so = paho_options(broker.uri(), "e2e-rmq-restart-sub", false);
  so.auto_reconnect = true;
  PahoTestClient sub(so);
  REQUIRE(sub.connect());
  REQUIRE(sub.subscribe("e2e/rmq/stream/#", 1));
  const std::uint16_t port = free_udp_port();
  GatewayProcess gw(on_rabbitmq(port).to_toml(), "e2e-rmq-restart");
  auto nc = node_config("rmq-streamer");
  nc.n_retry = 5;
  NodeHarness nodes({nc});
  nodes.open_udp(port);
  REQUIRE_MESSAGE(gw.start(), tail(gw.log(), 4000));
  REQUIRE_MESSAGE(gw.wait_upstream_connected(30000ms), tail(gw.log(), 4000));
  REQUIRE_MESSAGE(nodes.connect(0), nodes.describe(0));

  const auto reading = [](int k) { return "m" + std::to_string(k); };
  std::set<std::string> acked;
  const auto publish = [&](int k) {
    if (nodes.publish(0, TopicRef::named("e2e/rmq/stream/n"), reading(k), 1)) acked.insert(reading(k));
  };
  constexpr int kBefore = 10, kDuring = 10, kAfter = 10;
  for (int k = 0; k < kBefore; ++k) publish(k);
  CHECK(acked.size() == static_cast<std::size_t>(kBefore));
  // A clean stop (SIGTERM) takes RabbitMQ seconds; the node goes on publishing meanwhile, from the
  // loop of this thread, so the stop runs beside it.
  std::thread stopper([&] { broker.stop(); });
  REQUIRE_MESSAGE(
      nodes.run_until([&] { return gw.status("stats")["upstream"]["state"] != "connected"; }, 60s),
      tail(gw.log(), 4000));
  stopper.join();
  for (int k = kBefore; k < kBefore + kDuring; ++k) publish(k);
  CHECK_MESSAGE(acked.size() == static_cast<std::size_t>(kBefore + kDuring), nodes.describe(0));
  CHECK(gw.status("stats")["upstream"]["queue_messages"].get<int>() > 0);
  broker.start();
  REQUIRE_MESSAGE(gw.wait_upstream_connected(60000ms), tail(gw.log(), 4000));
  for (int k = kBefore + kDuring; k < kBefore + kDuring + kAfter; ++k) publish(k);
  CHECK(acked.size() == static_cast<std::size_t>(kBefore + kDuring + kAfter));

  std::string missing;
  for (const auto& m : sub.wait_for_payloads(acked, 60s)) missing += " " + m;
  CHECK_MESSAGE(missing.empty(), "acknowledged but never delivered:" << missing << "\n"
                                                                     << tail(gw.log(), 4000));
  MESSAGE("received " << sub.count() << " (" << payloads(sub).size() << " distinct) of " << acked.size());
  CHECK(gw.running());
}
