// A fleet on the RabbitMQ cluster: three mqttsn-gw (their own gateway ids, upstream client ids and
// presence topics), each with its nodes, share the cluster without colliding; a node that moves from
// one gateway to another is served by the second (told its topic id is unknown, it registers again)
// and the first gateway's session for it ends by expiry, its will published once. Built into the
// gateway_rabbitmq_cluster program (one cluster start for both).
#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "e2e/e2e_config.hpp"
#include "e2e/e2e_nodes.hpp"
#include "e2e/gateway_process.hpp"
#include "support/paho_test_client.hpp"
#include "support/rabbitmq_cluster.hpp"

using namespace mqttsn::e2e;
using namespace std::chrono_literals;
using mqttsn::Millis;
using mqttsn::test::GatewayProcess;
using mqttsn::test::PahoTestClient;
using mqttsn::test::RabbitMqCluster;
using mqttsn::test::shared_rabbitmq_cluster;

namespace {

constexpr std::size_t kGateways = 3;
constexpr std::size_t kNodesEach = 2;
constexpr int kReadings = 5;

std::size_t count_on(const std::vector<mqttsn::test::ReceivedMessage>& ms, const std::string& topic) {
  std::size_t n = 0;
  for (const auto& m : ms) n += m.topic == topic ? 1 : 0;
  return n;
}

std::uint64_t core_counter(const GatewayProcess& gw, const char* name) {
  return gw.status("stats")["core"].value(name, std::uint64_t{0});
}

}  // namespace

TEST_CASE(
    "rabbitmq cluster: three gateways share it, a node moves from one to another, the first's session "
    "expires with one will") {
  RabbitMqCluster& cluster = shared_rabbitmq_cluster();
  // The nodes still up (the failover case may have killed one): each gateway starts on another.
  std::vector<std::size_t> alive, dead;
  for (std::size_t i = 0; i < RabbitMqCluster::kNodes; ++i) (cluster.running(i) ? alive : dead).push_back(i);
  REQUIRE(alive.size() >= 2);

  PahoTestClient watcher(paho_options(cluster.uri(alive.back()), "e2e-fleet-watch"));
  REQUIRE(watcher.connect());
  REQUIRE(watcher.subscribe("e2e/fleet/#", 1));

  std::vector<std::uint16_t> ports;
  std::vector<std::unique_ptr<GatewayProcess>> gws;
  for (std::size_t g = 0; g < kGateways; ++g) {
    GatewayToml toml;
    toml.broker_uri = cluster.uri(alive[g % alive.size()]);
    for (std::size_t k = 1; k < alive.size(); ++k)
      toml.more_servers.push_back(cluster.uri(alive[(g + k) % alive.size()]));
    for (std::size_t d : dead) toml.more_servers.push_back(cluster.uri(d));
    toml.gateway_id = static_cast<int>(g + 1);
    ports.push_back(free_udp_port());
    toml.udp_port = ports.back();
    toml.upstream_client_id = "e2e-fleet-gw-%g";
    toml.presence_topic = "e2e/fleet/gw/%g";
    toml.session_expiry = "3s";
    toml.upstream_extra = "max_qos = 1\n";
    gws.push_back(std::make_unique<GatewayProcess>(toml.to_toml(), "e2e-rmq-fleet"));
    REQUIRE_MESSAGE(gws.back()->start(), tail(gws.back()->log(), 4000));
  }
  for (auto& gw : gws) REQUIRE_MESSAGE(gw->wait_upstream_connected(30000ms), tail(gw->log(), 4000));

  // Nodes on each gateway; the same node names on each, under the gateway's own topics.
  std::vector<std::unique_ptr<NodeHarness>> fleets;
  for (std::size_t g = 0; g < kGateways; ++g) {
    std::vector<NodeConfig> configs;
    for (std::size_t j = 0; j < kNodesEach; ++j)
      configs.push_back(node_config("fleet-n" + std::to_string(j)));
    fleets.push_back(std::make_unique<NodeHarness>(configs));
    fleets[g]->open_udp(ports[g]);
    for (std::size_t j = 0; j < kNodesEach; ++j) {
      REQUIRE_MESSAGE(fleets[g]->connect(j), fleets[g]->describe(j));
      for (int r = 0; r < kReadings; ++r)
        REQUIRE_MESSAGE(
            fleets[g]->publish(
                j, TopicRef::named("e2e/fleet/r/" + std::to_string(g + 1) + "/" + std::to_string(j)),
                "r" + std::to_string(r), 1),
            fleets[g]->describe(j));
    }
  }
  CHECK(watcher.wait_until(
      [&](const auto& ms) {
        for (std::size_t g = 0; g < kGateways; ++g)
          for (std::size_t j = 0; j < kNodesEach; ++j)
            if (count_on(ms, "e2e/fleet/r/" + std::to_string(g + 1) + "/" + std::to_string(j)) <
                static_cast<std::size_t>(kReadings))
              return false;
        return true;
      },
      15s));
  // No collision: each gateway connected once and stayed, each said so on its own presence topic.
  for (std::size_t g = 0; g < kGateways; ++g) {
    CAPTURE(g);
    const auto up = gws[g]->status("stats")["upstream"];
    CHECK(up["state"] == "connected");
    CHECK(up["counters"]["connects"] == 1);
    CHECK(count_on(watcher.messages(), "e2e/fleet/gw/" + std::to_string(g + 1)) >= 1);
  }

  // The mover: a kept session with a will on gateway 1, then it is heard only by gateway 2.
  NodeConfig mover_cfg = node_config("fleet-mover", 2);
  mover_cfg.clean_session = false;
  mover_cfg.will = mqttsn::sim::WillConfig{.topic = "e2e/fleet/will/mover", .message = "gone", .qos = 1};
  NodeHarness mover({mover_cfg});
  mover.open_udp(ports[0]);
  REQUIRE_MESSAGE(mover.connect(0), mover.describe(0));
  REQUIRE_MESSAGE(mover.publish(0, TopicRef::named("e2e/fleet/mover/r"), "at-gw1", 1), mover.describe(0));
  mover.close_transport();
  mover.open_udp(ports[1]);
  REQUIRE_MESSAGE(mover.connect(0), mover.describe(0));
  // Its topic id means nothing to gateway 2: refused with "invalid topic id", then registered again.
  CHECK_FALSE(mover.publish(0, TopicRef::named("e2e/fleet/mover/r"), "lost", 1));
  const auto refusals = mover.events(0, EventKind::failure);
  REQUIRE_FALSE(refusals.empty());
  CHECK(refusals.back().rc == mqttsn::ReturnCode::invalid_topic_id);
  REQUIRE_MESSAGE(mover.publish(0, TopicRef::named("e2e/fleet/mover/r"), "at-gw2", 1), mover.describe(0));
  CHECK(watcher.wait_until([](const auto& ms) { return count_on(ms, "e2e/fleet/mover/r") >= 2; }, 10s));

  // Gateway 1 loses the node (keep-alive 2 s x 1.5): its will, once; the session expires 3 s later.
  // The mover keeps talking to gateway 2 all the while (its loop runs).
  CHECK(mover.run_until([&] { return core_counter(*gws[0], "sessions_expired") >= 1; }, 20s));
  mover.run_for(2s);
  CHECK(core_counter(*gws[0], "wills_published") == 1);
  CHECK(core_counter(*gws[1], "wills_published") == 0);
  CHECK(count_on(watcher.messages(), "e2e/fleet/will/mover") == 1);
  CHECK(gws[1]->status("stats")["sessions"].get<std::uint64_t>() >= 1);
  mover.act(0, [](NodeClient& n, Millis t) { n.disconnect(t); });
  CHECK(mover.wait_event(0, EventKind::disconnected).has_value());
}
