// Looking inside the real mqttsn-gw: the status socket and the real mqttsn-gwctl show exactly the
// topic mappings the nodes made (UDP and XBee), the clients with their link and address, and
// counters that move with the traffic. And a clean SIGTERM: exit 0 within the grace time, with the
// presence topic left at "offline" (retained).
#include <doctest/doctest.h>

#include <csignal>
#include <set>
#include <string>
#include <tuple>

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

using Mapping = std::tuple<std::string, int, std::string, std::string>;  // client, id, kind, topic

std::set<Mapping> mappings(const nlohmann::json& topics) {
  std::set<Mapping> out;
  for (const auto& t : topics["topics"])
    out.emplace(t["client_id"].get<std::string>(), t["topic_id"].get<int>(), t["kind"].get<std::string>(),
                t["topic"].get<std::string>());
  return out;
}

std::uint64_t link_counter(const nlohmann::json& stats, const std::string& link, const char* name) {
  for (const auto& l : stats["links"])
    if (l["name"] == link) return l["counters"][name].get<std::uint64_t>();
  return 0;
}

}  // namespace

TEST_CASE(
    "status socket and mqttsn-gwctl show exactly the nodes' mappings, the clients, and moving counters") {
  MosquittoBroker broker;
  PahoTestClient commander(paho_options(broker.uri(), "e2e-status-commander"));
  REQUIRE(commander.connect());

  const std::uint16_t port = free_udp_port();
  GatewayToml cfg{.broker_uri = broker.uri(),
                  .udp_port = port,
                  .xbee_device = "{dir}/xbee",
                  .predefined_topics_file = "predefined.conf"};
  GatewayProcess gw(cfg.to_toml(), "e2e-status");
  gw.dir().write("predefined.conf", "1, e2e/status/pre\n0x0010, e2e/status/only-x, xnode\n");
  NodeHarness udp({node_config("unode")});
  NodeHarness xbee({node_config("xnode")});
  auto& udp_transport = udp.open_udp(port);
  xbee.open_xbee(gw.dir().file("xbee"));
  REQUIRE_MESSAGE(gw.start(), gw.log());
  REQUIRE_MESSAGE(gw.wait_upstream_connected(), gw.log());
  const auto before = gw.status("stats");

  // UDP node: two registrations, two publishes.
  REQUIRE_MESSAGE(udp.connect(0), udp.describe(0));
  udp.act(0, [](NodeClient& n, Millis t) { n.register_topic("e2e/status/u1", t); });
  udp.act(0, [](NodeClient& n, Millis t) { n.register_topic("e2e/status/u2", t); });
  REQUIRE(udp.wait_idle(0));
  CHECK(udp.publish(0, TopicRef::named("e2e/status/u1"), "1", 1));
  CHECK(udp.publish(0, TopicRef::named("e2e/status/u2"), "2", 0));
  const int u1 = *udp.node(0).topic_id("e2e/status/u1");
  const int u2 = *udp.node(0).topic_id("e2e/status/u2");

  // XBee node: one registration, and one topic the gateway registers for a wildcard subscription.
  REQUIRE_MESSAGE(xbee.connect(0), xbee.describe(0) << "\n" << gw.log());
  xbee.act(0, [](NodeClient& n, Millis t) { n.register_topic("e2e/status/x1", t); });
  xbee.act(0, [](NodeClient& n, Millis t) { n.subscribe(TopicRef::named("e2e/status/cmd/#"), 1, t); });
  REQUIRE_MESSAGE(xbee.wait_event(0, EventKind::subscribed), xbee.describe(0));
  REQUIRE(gw.wait_status("subscriptions", [](const nlohmann::json& j) {
    return !j["subscriptions"].empty() && j["subscriptions"][0]["upstream"] == "granted";
  }));
  REQUIRE(commander.publish("e2e/status/cmd/go", "go", 1, false));
  const auto reg = xbee.wait_event(0, EventKind::gateway_register);
  REQUIRE_MESSAGE(reg, xbee.describe(0));
  REQUIRE(xbee.wait_event(0, EventKind::message));
  const int x1 = *xbee.node(0).topic_id("e2e/status/x1");

  const std::set<Mapping> expected{
      {"*", 1, "predefined", "e2e/status/pre"}, {"xnode", 16, "predefined", "e2e/status/only-x"},
      {"unode", u1, "normal", "e2e/status/u1"}, {"unode", u2, "normal", "e2e/status/u2"},
      {"xnode", x1, "normal", "e2e/status/x1"}, {"xnode", reg->topic_id, "normal", "e2e/status/cmd/go"},
  };
  const auto topics = gw.status("topics");
  CHECK_MESSAGE(mappings(topics) == expected, topics.dump(1));
  for (const auto& t : topics["topics"]) CHECK(t["confirmed"] == true);

  // mqttsn-gwctl: the same document with --json; readable tables otherwise.
  auto run = gw.gwctl({"--json", "topics"});
  CHECK(run.exit_status == 0);
  CHECK(mappings(nlohmann::json::parse(run.out, nullptr, false)) == expected);
  run = gw.gwctl({"--json", "topics", "xnode"});
  CHECK(run.exit_status == 0);
  std::set<Mapping> only_x;
  for (const auto& m : expected)
    if (std::get<0>(m) != "unode") only_x.insert(m);
  CHECK_MESSAGE(mappings(nlohmann::json::parse(run.out, nullptr, false)) == only_x, run.out);
  run = gw.gwctl({"topics"});
  CHECK(run.exit_status == 0);
  for (const char* topic : {"e2e/status/u1", "e2e/status/u2", "e2e/status/x1", "e2e/status/cmd/go"})
    CHECK_MESSAGE(run.out.find(topic) != std::string::npos, run.out);

  // Clients, with link and address.
  const auto clients = gw.status("clients")["clients"];
  REQUIRE(clients.size() == 2);
  std::set<std::tuple<std::string, std::string, std::string>> rows;
  for (const auto& c : clients) rows.emplace(c["client_id"], c["link"], c["address"]);
  const std::set<std::tuple<std::string, std::string, std::string>> expected_clients{
      {"unode", "udp", "udp:127.0.0.1:" + std::to_string(udp_transport.local_port(0))},
      {"xnode", "xbee", "xbee:0013A20000000001"}};
  CHECK(rows == expected_clients);
  run = gw.gwctl({"clients"});
  CHECK(run.exit_status == 0);
  CHECK(run.out.find("unode") != std::string::npos);
  CHECK(run.out.find("xbee:0013A20000000001") != std::string::npos);

  // Counters moved with the traffic: two publishes up, five UDP datagrams in (CONNECT, 2 x
  // REGISTER, 2 x PUBLISH), the command down to the XBee node.
  const auto after = gw.status("stats");
  CHECK(after["core"]["publishes_up"].get<std::uint64_t>() -
            before["core"]["publishes_up"].get<std::uint64_t>() ==
        2);
  CHECK(link_counter(after, "udp", "datagrams_in") - link_counter(before, "udp", "datagrams_in") == 5);
  CHECK(link_counter(after, "xbee", "datagrams_in") > link_counter(before, "xbee", "datagrams_in"));
  CHECK(link_counter(after, "xbee", "datagrams_out") > link_counter(before, "xbee", "datagrams_out"));
  CHECK(after["core"].value("publishes_down", std::uint64_t{0}) >= 1);
  run = gw.gwctl({"metrics"});
  CHECK(run.exit_status == 0);
  CHECK(run.out.find("publishes_up") != std::string::npos);
}

TEST_CASE("SIGTERM: exit 0 within the grace time, the presence topic left at 'offline' (retained)") {
  MosquittoBroker broker;
  PahoTestClient watcher(paho_options(broker.uri(), "e2e-presence-watcher"));
  REQUIRE(watcher.connect());
  REQUIRE(watcher.subscribe("e2e/gw/presence", 1));

  const std::uint16_t port = free_udp_port();
  GatewayToml cfg{.broker_uri = broker.uri(), .udp_port = port, .presence_topic = "e2e/gw/presence"};
  cfg.shutdown_grace = "3s";
  GatewayProcess gw(cfg.to_toml(), "e2e-sigterm");
  NodeHarness nodes({node_config("bystander")});
  nodes.open_udp(port);
  REQUIRE_MESSAGE(gw.start(), gw.log());
  REQUIRE_MESSAGE(
      watcher.wait_until([](const auto& m) { return !m.empty() && m.back().payload == "online"; }, 5s),
      gw.log());
  // A connected node and a publish in the pipe do not hold the exit up.
  REQUIRE(nodes.connect(0));
  CHECK(nodes.publish(0, TopicRef::named("e2e/gw/last"), "x", 1));

  const auto t0 = std::chrono::steady_clock::now();
  gw.signal(SIGTERM);
  const auto status = gw.wait_exit(5s);
  const auto took = std::chrono::steady_clock::now() - t0;
  REQUIRE_MESSAGE(status, gw.log());
  CHECK_MESSAGE(*status == 0, gw.log());
  CHECK(took < 3s);
  MESSAGE("SIGTERM to exit: " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                              << " ms");

  REQUIRE(watcher.wait_until([](const auto& m) { return !m.empty() && m.back().payload == "offline"; }, 5s));
  // Retained: a new subscription gets it as such.
  watcher.clear();
  REQUIRE(watcher.subscribe("e2e/gw/+", 1));
  REQUIRE(watcher.wait_for(1, 5s));
  CHECK(watcher.messages().front().payload == "offline");
  CHECK(watcher.messages().front().retained);
  CHECK(gw.log().find("stopped") != std::string::npos);
}
