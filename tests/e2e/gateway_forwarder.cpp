// Forwarder encapsulation (spec 5.5) through the real mqttsn-gw: two nodes behind one forwarder
// share one UDP socket; their datagrams go up wrapped in 0xFE with their wireless node ids. The
// gateway must keep them apart as two clients and answer each one encapsulated with its own id.
#include <doctest/doctest.h>

#include <string>
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

TEST_CASE("UDP forwarder: two encapsulated nodes are served through one socket, each by its node id") {
  MosquittoBroker broker;
  PahoTestClient broker_side(paho_options(broker.uri(), "e2e-fwd-broker-side"));
  REQUIRE(broker_side.connect());
  REQUIRE(broker_side.subscribe("e2e/fwd/#", 2));

  const std::uint16_t port = free_udp_port();
  GatewayToml cfg{.broker_uri = broker.uri(), .udp_port = port};
  GatewayProcess gw(cfg.to_toml(), "e2e-fwd");
  NodeHarness nodes({node_config("behind-1"), node_config("behind-2")});
  auto& forwarder = nodes.open_forwarder(port, {{0x01, 0x02}, {0xAA, 0xBB, 0xCC}});
  REQUIRE_MESSAGE(gw.start(), gw.log());
  REQUIRE_MESSAGE(gw.wait_upstream_connected(), gw.log());

  REQUIRE_MESSAGE(nodes.connect(0), nodes.describe(0) << "\n" << gw.log());
  REQUIRE_MESSAGE(nodes.connect(1), nodes.describe(1) << "\n" << gw.log());
  CHECK(nodes.publish(0, TopicRef::named("e2e/fwd/one"), "from-1", 1));
  CHECK(nodes.publish(1, TopicRef::named("e2e/fwd/two"), "from-2", 2));
  REQUIRE(broker_side.wait_for(2, 5s));
  const auto up = broker_side.messages();
  CHECK(up[0].topic == "e2e/fwd/one");
  CHECK(up[0].payload == "from-1");
  CHECK(up[1].topic == "e2e/fwd/two");
  CHECK(up[1].payload == "from-2");

  // Downlink: only the subscribed node gets the command, through the forwarder.
  nodes.act(0, [](NodeClient& n, Millis t) { n.subscribe(TopicRef::named("fwd/cmd/#"), 1, t); });
  REQUIRE_MESSAGE(nodes.wait_event(0, EventKind::subscribed), nodes.describe(0));
  REQUIRE(gw.wait_status("subscriptions", [](const nlohmann::json& j) {
    return !j["subscriptions"].empty() && j["subscriptions"][0]["upstream"] == "granted";
  }));
  REQUIRE(broker_side.publish("fwd/cmd/1", "go", 1, false));
  const auto m = nodes.wait_event(0, EventKind::message);
  REQUIRE_MESSAGE(m, nodes.describe(0));
  CHECK(m->topic == "fwd/cmd/1");
  CHECK(text_of(m->payload) == "go");
  CHECK(nodes.count(1, EventKind::message) == 0);

  // Every reply came back encapsulated, with one of the two node ids.
  CHECK(forwarder.unwrapped() >= 6);
  CHECK(forwarder.not_encapsulated() == 0);
  CHECK(forwarder.unknown_node_id() == 0);
  CHECK(nodes.count(0, EventKind::failure) == 0);
  CHECK(nodes.count(1, EventKind::failure) == 0);

  // Two clients at one UDP address, told apart by node id.
  const auto clients = gw.status("clients")["clients"];
  REQUIRE(clients.size() == 2);
  std::vector<std::string> addresses;
  for (const auto& c : clients)
    addresses.push_back(c["client_id"].get<std::string>() + " " + c["address"].get<std::string>());
  std::sort(addresses.begin(), addresses.end());
  CHECK(addresses[0].starts_with("behind-1 udp:127.0.0.1:"));
  CHECK(addresses[0].ends_with("/node:0102"));
  CHECK(addresses[1].starts_with("behind-2 udp:127.0.0.1:"));
  CHECK(addresses[1].ends_with("/node:AABBCC"));
}
