// Downlink and session life through the real mqttsn-gw: wildcard subscriptions (the gateway
// REGISTERs a topic before its first PUBLISH, at min(granted, published) QoS; UNSUBSCRIBE stops
// them), a node that goes silent (its will reaches the broker after 1.5 x keep-alive), and a sleeping
// node (what arrived while it slept comes in order when it wakes, then PINGRESP).
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <tuple>
#include <vector>

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

// Index of the first event of `kind` with `topic` (and `payload` when given) in node i's history.
std::ptrdiff_t index_of(const NodeHarness& nodes, std::size_t i, EventKind kind, const std::string& topic,
                        const std::string& payload = {}) {
  const auto& ev = nodes.events(i);
  for (std::size_t k = 0; k < ev.size(); ++k)
    if (ev[k].kind == kind && ev[k].topic == topic && (payload.empty() || text_of(ev[k].payload) == payload))
      return static_cast<std::ptrdiff_t>(k);
  return -1;
}

}  // namespace

TEST_CASE(
    "UDP: a wildcard subscription is REGISTERed before delivery, at the right QoS, and UNSUBSCRIBE stops "
    "it") {
  MosquittoBroker broker;
  PahoTestClient commander(paho_options(broker.uri(), "e2e-commander"));
  REQUIRE(commander.connect());

  const std::uint16_t port = free_udp_port();
  GatewayToml cfg{.broker_uri = broker.uri(), .udp_port = port};
  GatewayProcess gw(cfg.to_toml(), "e2e-sub");
  NodeHarness nodes({node_config("sub-1")});
  nodes.open_udp(port);
  REQUIRE_MESSAGE(gw.start(), gw.log());
  REQUIRE_MESSAGE(gw.wait_upstream_connected(), gw.log());
  REQUIRE_MESSAGE(nodes.connect(0), nodes.describe(0));

  auto subscribe = [&](const std::string& filter, mqttsn::QoS qos) {
    nodes.act(0, [&](NodeClient& n, Millis t) { n.subscribe(TopicRef::named(filter), qos, t); });
    const auto ev = nodes.wait_event(0, EventKind::subscribed);
    REQUIRE_MESSAGE(ev, nodes.describe(0));
    CHECK(ev->topic == filter);
    CHECK(ev->qos == qos);
    // The gateway answers SUBACK once the broker granted the filter upstream.
    REQUIRE(gw.wait_subscribed_upstream(filter));
  };
  subscribe("cmd/sub-1/#", 1);
  subscribe("alerts/+", 2);
  subscribe("probe/sub-1", 0);

  auto next_message = [&] {
    auto m = nodes.wait_event(0, EventKind::message);
    REQUIRE_MESSAGE(m, nodes.describe(0) << "\n" << gw.log());
    return *m;
  };

  // Granted 1, published 2: delivered at 1, after a REGISTER of the full topic name.
  REQUIRE(commander.publish("cmd/sub-1/led", "on", 2, false));
  auto m = next_message();
  CHECK(m.topic == "cmd/sub-1/led");
  CHECK(text_of(m.payload) == "on");
  CHECK(m.qos == 1);
  const auto reg = index_of(nodes, 0, EventKind::gateway_register, "cmd/sub-1/led");
  CHECK(reg >= 0);
  CHECK(reg < index_of(nodes, 0, EventKind::message, "cmd/sub-1/led"));

  // Granted 1, published 0: delivered at 0.
  REQUIRE(commander.publish("cmd/sub-1/fan", "off", 0, false));
  m = next_message();
  CHECK(m.topic == "cmd/sub-1/fan");
  CHECK(m.qos == 0);
  CHECK(index_of(nodes, 0, EventKind::gateway_register, "cmd/sub-1/fan") >= 0);

  // Granted 2: QoS 2 and 1 arrive as published.
  REQUIRE(commander.publish("alerts/fire", "a2", 2, false));
  m = next_message();
  CHECK(m.topic == "alerts/fire");
  CHECK(m.qos == 2);
  REQUIRE(commander.publish("alerts/fire", "a1", 1, false));
  m = next_message();
  CHECK(text_of(m.payload) == "a1");
  CHECK(m.qos == 1);
  // The topic was registered once; its id is reused.
  CHECK(nodes.events(0, EventKind::gateway_register).size() == 3);

  // After UNSUBSCRIBE, nothing more on that filter: the probe published after it arrives alone.
  nodes.act(0, [](NodeClient& n, Millis t) { n.unsubscribe(TopicRef::named("cmd/sub-1/#"), t); });
  REQUIRE_MESSAGE(nodes.wait_event(0, EventKind::unsubscribed), nodes.describe(0));
  REQUIRE(gw.wait_status("subscriptions", [](const nlohmann::json& j) {
    for (const auto& s : j["subscriptions"])
      if (s["filter"] == "cmd/sub-1/#") return false;
    return true;
  }));
  REQUIRE(commander.publish("cmd/sub-1/led", "ignored", 1, false));
  REQUIRE(commander.publish("probe/sub-1", "probe", 0, false));
  m = next_message();
  CHECK(m.topic == "probe/sub-1");
  CHECK(text_of(m.payload) == "probe");
  CHECK(index_of(nodes, 0, EventKind::message, "cmd/sub-1/led", "ignored") == -1);
  CHECK(nodes.count(0, EventKind::failure) == 0);
}

TEST_CASE(
    "UDP: a node that goes silent loses its session after 1.5 x keep-alive and its will reaches the broker") {
  MosquittoBroker broker;
  PahoTestClient watcher(paho_options(broker.uri(), "e2e-will-watcher"));
  REQUIRE(watcher.connect());
  REQUIRE(watcher.subscribe("e2e/will/#", 2));

  const std::uint16_t port = free_udp_port();
  GatewayToml cfg{.broker_uri = broker.uri(), .udp_port = port};
  GatewayProcess gw(cfg.to_toml(), "e2e-will");
  auto c = node_config("mortal", 2);
  c.will = mqttsn::sim::WillConfig{"e2e/will/mortal", "gone", 1, true};
  NodeHarness nodes({c});
  nodes.open_udp(port);
  REQUIRE_MESSAGE(gw.start(), gw.log());
  REQUIRE_MESSAGE(gw.wait_upstream_connected(), gw.log());
  REQUIRE_MESSAGE(nodes.connect(0), nodes.describe(0));

  // Alive: one keep-alive round trip and no will.
  REQUIRE_MESSAGE(nodes.wait_event(0, EventKind::pong, 4s), nodes.describe(0));
  CHECK(watcher.count() == 0);

  const auto silent_since = std::chrono::steady_clock::now();
  nodes.mute(0);
  REQUIRE_MESSAGE(watcher.wait_for(1, 8s), gw.log());
  const auto after = std::chrono::steady_clock::now() - silent_since;
  const auto will = watcher.messages().front();
  CHECK(will.topic == "e2e/will/mortal");
  CHECK(will.payload == "gone");
  CHECK(will.qos == 1);
  // 1.5 x 2 s after the node's last datagram, the PINGREQ answered just before it went silent: not
  // early, and not much later (the margin is for a loaded CI machine).
  CHECK(after >= 2500ms);
  CHECK(after <= 6s);

  // Retained: a new subscription gets it as such (same connection: a new Paho client is slow to connect).
  watcher.clear();
  REQUIRE(watcher.subscribe("e2e/will/mortal", 1));
  REQUIRE(watcher.wait_for(1, 5s));
  CHECK(watcher.messages().front().retained);
  CHECK(watcher.messages().front().payload == "gone");
}

TEST_CASE("XBee: a sleeping node gets what was published while it slept, in order, when it wakes") {
  MosquittoBroker broker;
  PahoTestClient commander(paho_options(broker.uri(), "e2e-sleep-commander"));
  REQUIRE(commander.connect());

  GatewayToml cfg{.broker_uri = broker.uri(), .xbee_device = "{dir}/xbee"};
  GatewayProcess gw(cfg.to_toml(), "e2e-sleep");
  NodeHarness nodes({node_config("sleepy", 10)});
  nodes.open_xbee(gw.dir().file("xbee"));
  REQUIRE_MESSAGE(gw.start(), gw.log());
  REQUIRE_MESSAGE(gw.wait_upstream_connected(), gw.log());
  REQUIRE_MESSAGE(nodes.connect(0), nodes.describe(0) << "\n" << gw.log());
  nodes.act(0, [](NodeClient& n, Millis t) { n.subscribe(TopicRef::named("sleepy/cmd"), 1, t); });
  REQUIRE_MESSAGE(nodes.wait_event(0, EventKind::subscribed), nodes.describe(0));

  nodes.act(0, [](NodeClient& n, Millis t) { n.sleep(60, t); });
  REQUIRE_MESSAGE(nodes.wait_event(0, EventKind::asleep), nodes.describe(0));
  REQUIRE(gw.wait_status("clients", [](const nlohmann::json& j) {
    return !j["clients"].empty() && j["clients"][0]["state"] == "asleep";
  }));

  const std::vector<std::string> sent{"c1", "c2", "c3", "c4"};
  for (std::size_t k = 0; k < sent.size(); ++k)
    REQUIRE(commander.publish("sleepy/cmd", sent[k], k % 2 == 0 ? 1 : 0, false));
  // Buffered by the gateway, not delivered.
  REQUIRE_MESSAGE(gw.wait_status("clients",
                                 [&](const nlohmann::json& j) {
                                   return j["clients"][0]["buffered"].get<std::size_t>() == sent.size();
                                 }),
                  gw.status("clients").dump());
  CHECK(nodes.count(0, EventKind::message) == 0);

  nodes.act(0, [](NodeClient& n, Millis t) { n.wake(t); });
  REQUIRE_MESSAGE(nodes.wait_event(0, EventKind::awake_done), nodes.describe(0) << "\n" << gw.log());
  std::vector<std::string> got;
  std::ptrdiff_t last_message = -1;
  const auto& ev = nodes.events(0);
  for (std::size_t k = 0; k < ev.size(); ++k)
    if (ev[k].kind == EventKind::message) {
      got.push_back(text_of(ev[k].payload));
      last_message = static_cast<std::ptrdiff_t>(k);
    }
  CHECK(got == sent);
  CHECK(last_message < index_of(nodes, 0, EventKind::awake_done, ""));
  CHECK(nodes.count(0, EventKind::failure) == 0);
  CHECK(gw.status("clients")["clients"][0]["buffered"] == 0);
}

TEST_CASE(
    "UDP: a retained message reaches a new wildcard subscriber, REGISTERed first, with the retain flag") {
  MosquittoBroker broker;
  PahoTestClient commander(paho_options(broker.uri(), "e2e-retained-commander"));
  REQUIRE(commander.connect());
  REQUIRE(commander.publish("e2e/ret/a", "kept-a", 1, true));
  REQUIRE(commander.publish("e2e/ret/b", "kept-b", 2, true));

  const std::uint16_t port = free_udp_port();
  GatewayProcess gw(GatewayToml{.broker_uri = broker.uri(), .udp_port = port}.to_toml(), "e2e-retained");
  NodeHarness nodes({node_config("late-joiner")});
  nodes.open_udp(port);
  REQUIRE_MESSAGE(gw.start(), gw.log());
  REQUIRE_MESSAGE(gw.wait_upstream_connected(), gw.log());
  REQUIRE_MESSAGE(nodes.connect(0), nodes.describe(0));

  nodes.act(0, [](NodeClient& n, Millis t) { n.subscribe(TopicRef::named("e2e/ret/#"), 2, t); });
  REQUIRE_MESSAGE(nodes.wait_event(0, EventKind::subscribed), nodes.describe(0));
  REQUIRE_MESSAGE(nodes.run_until([&] { return nodes.count(0, EventKind::message) >= 2; }), nodes.describe(0)
                                                                                                << "\n"
                                                                                                << gw.log());
  for (const auto& [topic, payload, qos] :
       {std::tuple{"e2e/ret/a", "kept-a", 1}, std::tuple{"e2e/ret/b", "kept-b", 2}}) {
    CAPTURE(topic);
    const auto at = index_of(nodes, 0, EventKind::message, topic);
    REQUIRE(at >= 0);
    const auto& m = nodes.events(0)[static_cast<std::size_t>(at)];
    CHECK(text_of(m.payload) == payload);
    CHECK(m.retain);
    CHECK(m.qos == qos);
    const auto reg = index_of(nodes, 0, EventKind::gateway_register, topic);
    CHECK(reg >= 0);
    CHECK(reg < at);
  }
  CHECK(nodes.count(0, EventKind::message) == 2);
  CHECK(nodes.count(0, EventKind::failure) == 0);
}

TEST_CASE("UDP: two nodes share a filter, and one unsubscribing leaves the other's deliveries alone") {
  MosquittoBroker broker;
  PahoTestClient commander(paho_options(broker.uri(), "e2e-shared-commander"));
  REQUIRE(commander.connect());

  const std::uint16_t port = free_udp_port();
  GatewayProcess gw(GatewayToml{.broker_uri = broker.uri(), .udp_port = port}.to_toml(), "e2e-shared");
  NodeHarness nodes({node_config("share-1"), node_config("share-2")});
  nodes.open_udp(port);
  REQUIRE_MESSAGE(gw.start(), gw.log());
  REQUIRE_MESSAGE(gw.wait_upstream_connected(), gw.log());
  for (std::size_t i : {0u, 1u}) {
    REQUIRE_MESSAGE(nodes.connect(i), nodes.describe(i));
    nodes.act(i, [](NodeClient& n, Millis t) { n.subscribe(TopicRef::named("e2e/all/+"), 1, t); });
    REQUIRE_MESSAGE(nodes.wait_event(i, EventKind::subscribed), nodes.describe(i));
  }
  REQUIRE(gw.wait_status("subscriptions", [](const nlohmann::json& j) {
    return j["subscriptions"].size() == 1 && j["subscriptions"][0]["clients"] == 2 &&
           j["subscriptions"][0]["upstream"] == "granted";
  }));
  REQUIRE(commander.publish("e2e/all/x", "one", 1, false));
  for (std::size_t i : {0u, 1u}) {
    const auto m = nodes.wait_event(i, EventKind::message);
    REQUIRE_MESSAGE(m, nodes.describe(i));
    CHECK(text_of(m->payload) == "one");
  }

  nodes.act(0, [](NodeClient& n, Millis t) { n.unsubscribe(TopicRef::named("e2e/all/+"), t); });
  REQUIRE_MESSAGE(nodes.wait_event(0, EventKind::unsubscribed), nodes.describe(0));
  REQUIRE(gw.wait_status("subscriptions", [](const nlohmann::json& j) {
    return j["subscriptions"].size() == 1 && j["subscriptions"][0]["clients"] == 1;
  }));
  REQUIRE(commander.publish("e2e/all/x", "two", 1, false));
  const auto m = nodes.wait_event(1, EventKind::message);
  REQUIRE_MESSAGE(m, nodes.describe(1) << "\n" << gw.log());
  CHECK(text_of(m->payload) == "two");
  CHECK(nodes.count(0, EventKind::message) == 1);
}

TEST_CASE(
    "UDP: a node back from a new address with CleanSession=0 takes its session over, subscriptions "
    "included") {
  MosquittoBroker broker;
  PahoTestClient commander(paho_options(broker.uri(), "e2e-roam-commander"));
  REQUIRE(commander.connect());

  const std::uint16_t port = free_udp_port();
  GatewayProcess gw(GatewayToml{.broker_uri = broker.uri(), .udp_port = port}.to_toml(), "e2e-roam");
  auto c = node_config("roamer");
  c.clean_session = false;
  NodeHarness nodes({c});
  const auto first_port = nodes.open_udp(port).local_port(0);
  REQUIRE_MESSAGE(gw.start(), gw.log());
  REQUIRE_MESSAGE(gw.wait_upstream_connected(), gw.log());
  REQUIRE_MESSAGE(nodes.connect(0), nodes.describe(0));
  nodes.act(0, [](NodeClient& n, Millis t) { n.subscribe(TopicRef::named("e2e/roam/+"), 1, t); });
  REQUIRE_MESSAGE(nodes.wait_event(0, EventKind::subscribed), nodes.describe(0));
  REQUIRE(commander.publish("e2e/roam/x", "before", 1, false));
  REQUIRE_MESSAGE(nodes.wait_event(0, EventKind::message), nodes.describe(0));

  // New socket, new source port: the same client id, the same topic table on the node.
  const auto second_port = nodes.open_udp(port).local_port(0);
  REQUIRE(second_port != first_port);
  REQUIRE_MESSAGE(nodes.connect(0), nodes.describe(0) << "\n" << gw.log());
  REQUIRE(gw.wait_status("clients", [&](const nlohmann::json& j) {
    return j["clients"].size() == 1 &&
           j["clients"][0]["address"] == "udp:127.0.0.1:" + std::to_string(second_port);
  }));
  REQUIRE(commander.publish("e2e/roam/x", "after", 1, false));
  const auto m = nodes.wait_event(0, EventKind::message);
  REQUIRE_MESSAGE(m, nodes.describe(0) << "\n" << gw.log());
  CHECK(m->topic == "e2e/roam/x");
  CHECK(text_of(m->payload) == "after");
  CHECK(nodes.count(0, EventKind::failure) == 0);
}

// The daemon gives the core each link's MTU, so an oversized PUBLISH is dropped once and counted
// (too_large_for_link) instead of being refused by the link, retried every T_RETRY with the next
// message stuck behind it, and ending with this healthy node declared lost.
TEST_CASE(
    "XBee with an 84-octet MTU: an oversized QoS 1 message is dropped and counted, the next one flows") {
  MosquittoBroker broker;
  PahoTestClient commander(paho_options(broker.uri(), "e2e-mtu-commander"));
  REQUIRE(commander.connect());

  GatewayToml cfg{.broker_uri = broker.uri(), .xbee_device = "{dir}/xbee", .xbee_mtu = 84};
  GatewayProcess gw(cfg.to_toml(), "e2e-mtu");
  NodeHarness nodes({node_config("narrow")});
  nodes.open_xbee(gw.dir().file("xbee"));
  REQUIRE_MESSAGE(gw.start(), gw.log());
  REQUIRE_MESSAGE(gw.wait_upstream_connected(), gw.log());
  REQUIRE_MESSAGE(nodes.connect(0), nodes.describe(0) << "\n" << gw.log());
  nodes.act(0, [](NodeClient& n, Millis t) { n.subscribe(TopicRef::named("e2e/mtu/cmd"), 1, t); });
  REQUIRE_MESSAGE(nodes.wait_event(0, EventKind::subscribed), nodes.describe(0));

  // 7 octets of PUBLISH header + 100 of data: over 84 (spec 6.10: the gateway drops that delivery).
  REQUIRE(commander.publish("e2e/mtu/cmd", std::string(100, 'x'), 1, false));
  REQUIRE(commander.publish("e2e/mtu/cmd", "fits", 1, false));
  const auto m = nodes.wait_event(0, EventKind::message, 3s);
  REQUIRE_MESSAGE(m, nodes.describe(0) << "\n" << gw.log());
  CHECK(text_of(m->payload) == "fits");
  CHECK(nodes.count(0, EventKind::message) == 1);
  CHECK(gw.status("stats")["core"]["too_large_for_link"] == 1);
  // The session is intact: nothing is left in flight once the node has acknowledged "fits".
  CHECK(gw.wait_status("clients", [](const nlohmann::json& j) {
    return j["clients"].size() == 1 && j["clients"][0]["in_flight"] == 0;
  }));
  const auto clients = gw.status("clients")["clients"];
  REQUIRE(clients.size() == 1);
  CHECK(clients[0]["state"] == "active");
  CHECK(clients[0]["in_flight"] == 0);
  CHECK(nodes.count(0, EventKind::failure) == 0);
}
