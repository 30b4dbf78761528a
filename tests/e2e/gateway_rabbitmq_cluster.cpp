// The real mqttsn-gw on a three-node RabbitMQ cluster (tests/support/rabbitmq_cluster.hpp): the
// cluster node the gateway is connected to is killed (SIGKILL) in the middle of a QoS 1 stream from
// ten nodes; the gateway fails over to a survivor, every reading a node was acknowledged for
// arrives (duplicates allowed at QoS 1, counted), and the nodes' subscriptions deliver again,
// including what was published for them while the gateway was away (its kept session is a quorum
// queue). gateway_rabbitmq_fleet.cpp runs in the same program, on the same cluster (one start).
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <future>
#include <map>
#include <set>
#include <sstream>
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
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kNodes = 10;
constexpr auto kEvery = 50ms;  // per node: 10 nodes, 200 readings/s in all

std::string server_of(const GatewayProcess& gw) {
  const auto s = gw.status("stats");
  return s.is_null() ? std::string{} : s["upstream"]["server"].get<std::string>();
}

bool has_payload(const NodeHarness& nodes, std::size_t i, const std::string& payload) {
  for (const auto& e : nodes.events(i, EventKind::message))
    if (text_of(e.payload) == payload) return true;
  return false;
}

}  // namespace

TEST_CASE(
    "rabbitmq cluster: the node the gateway uses is killed mid-stream, the gateway fails over, nothing "
    "acknowledged is lost") {
  RabbitMqCluster& cluster = shared_rabbitmq_cluster();
  std::vector<std::size_t> alive;
  for (std::size_t i = 0; i < RabbitMqCluster::kNodes; ++i)
    if (cluster.running(i)) alive.push_back(i);
  REQUIRE(alive.size() == RabbitMqCluster::kNodes);

  const std::uint16_t port = free_udp_port();
  GatewayToml toml;
  toml.broker_uri = cluster.uri(0);
  toml.more_servers = {cluster.uri(1), cluster.uri(2)};
  toml.udp_port = port;
  toml.upstream_client_id = "e2e-cluster-gw";
  toml.upstream_clean_session = false;  // a kept session: a quorum queue, on every node
  toml.upstream_extra = "max_qos = 1\n";
  GatewayProcess gw(toml.to_toml(), "e2e-rmq-cluster");
  REQUIRE_MESSAGE(gw.start(), tail(gw.log(), 4000));
  REQUIRE_MESSAGE(gw.wait_upstream_connected(30000ms), tail(gw.log(), 4000));
  const std::string first_server = server_of(gw);
  const auto victim = cluster.node_of(first_server);
  REQUIRE_MESSAGE(victim.has_value(), first_server);
  const std::size_t survivor = (*victim + 1) % RabbitMqCluster::kNodes;

  // The watcher is on a node that stays up.
  PahoTestClient watcher(paho_options(cluster.uri(survivor), "e2e-cluster-watch"));
  REQUIRE(watcher.connect());
  REQUIRE(watcher.subscribe("e2e/cl/up/#", 1));

  std::vector<NodeConfig> configs;
  for (std::size_t i = 0; i < kNodes; ++i) configs.push_back(node_config("cl-n" + std::to_string(i)));
  NodeHarness nodes(configs);
  nodes.open_udp(port);
  for (std::size_t i = 0; i < kNodes; ++i) {
    REQUIRE_MESSAGE(nodes.connect(i), nodes.describe(i));
    nodes.act(i, [i](NodeClient& n, Millis t) {
      n.subscribe(TopicRef::named("e2e/cl/down/" + std::to_string(i)), 1, t);
    });
    REQUIRE_MESSAGE(nodes.wait_event(i, EventKind::subscribed).has_value(), nodes.describe(i));
  }
  REQUIRE(gw.wait_status(
      "stats", [](const nlohmann::json& j) { return j["upstream"]["subscriptions"] == kNodes; }, 10s));

  // The stream: each node one QoS 1 reading every 50 ms (stop-and-wait, as a node does). The
  // watcher's arrivals are timed at 5 ms resolution; the gateway's broker node dies after 3 s.
  std::vector<int> sent(kNodes, 0);
  std::vector<Clock::time_point> slot(kNodes, Clock::now());
  std::vector<Clock::time_point> arrivals;
  const auto t0 = Clock::now();
  const auto kill_at = t0 + 3s;
  const auto stop_at = t0 + 9s;
  Clock::time_point killed_at{};
  bool killed = false;
  std::future<bool> during;
  while (Clock::now() < stop_at) {
    const auto now = Clock::now();
    for (std::size_t i = 0; i < kNodes; ++i) {
      if (!nodes.node(i).idle() || now < slot[i]) continue;
      const std::string payload = "n" + std::to_string(i) + "-" + std::to_string(sent[i]++);
      nodes.act(i, [&](NodeClient& n, Millis t) {
        n.publish(TopicRef::named("e2e/cl/up/" + std::to_string(i)), bytes_of(payload), 1, false, t);
      });
      slot[i] = std::max(slot[i] + kEvery, now - 1s);
    }
    nodes.run_for(5ms);
    const auto seen = watcher.count();
    while (arrivals.size() < seen) arrivals.push_back(Clock::now());
    if (!killed && Clock::now() >= kill_at) {
      cluster.kill(*victim);
      killed_at = Clock::now();
      killed = true;
      // For node 0 while its gateway has no broker: kept in the gateway's queue on the cluster. On
      // a thread of its own: the queue may be electing a new leader, and the stream goes on.
      during = std::async(std::launch::async,
                          [&] { return watcher.publish("e2e/cl/down/0", "during", 1, false); });
    }
  }
  for (std::size_t i = 0; i < kNodes; ++i) CHECK_MESSAGE(nodes.wait_idle(i, 30s), nodes.describe(i));
  REQUIRE(during.valid());
  CHECK(during.get());

  // Every acknowledged reading arrives.
  std::set<std::string> acked;
  std::size_t failures = 0;
  for (std::size_t i = 0; i < kNodes; ++i) {
    for (const auto& e : nodes.events(i, EventKind::published))
      if (e.topic.starts_with("e2e/cl/up/")) acked.insert(text_of(e.payload));
    failures += nodes.count(i, EventKind::failure);
  }
  const auto contains_acked = [&](const std::vector<mqttsn::test::ReceivedMessage>& ms) {
    std::set<std::string> got;
    for (const auto& m : ms) got.insert(m.payload);
    return std::includes(got.begin(), got.end(), acked.begin(), acked.end());
  };
  CHECK(watcher.wait_until(contains_acked, 30s));
  const auto messages = watcher.messages();
  std::map<std::string, int> copies;
  for (const auto& m : messages) ++copies[m.payload];
  std::size_t duplicates = 0, missing = 0;
  for (const auto& [payload, n] : copies) duplicates += static_cast<std::size_t>(n - 1);
  for (const auto& a : acked) missing += copies.count(a) == 0 ? 1 : 0;
  CHECK(missing == 0);

  // The failover time: the longest silence at the watcher that ends after the kill (the last
  // reading through the killed node to the first through a survivor).
  std::chrono::milliseconds gap{0};
  for (std::size_t k = 1; k < arrivals.size(); ++k)
    if (arrivals[k] > killed_at)
      gap =
          std::max(gap, std::chrono::duration_cast<std::chrono::milliseconds>(arrivals[k] - arrivals[k - 1]));
  int total_sent = 0;
  for (int s : sent) total_sent += s;
  std::printf(
      "rabbitmq cluster failover: %d readings sent, %zu acknowledged, %zu received (%zu distinct), "
      "%zu duplicates, %zu missing, %zu node-side failures; failover gap %lld ms\n",
      total_sent, acked.size(), messages.size(), copies.size(), duplicates, missing, failures,
      static_cast<long long>(gap.count()));
  CHECK(acked.size() > 1000);
  CHECK(gap < 15s);

  // The gateway is on a survivor, and says which.
  REQUIRE_MESSAGE(gw.wait_upstream_connected(30000ms), tail(gw.log(), 4000));
  const std::string now_server = server_of(gw);
  const auto now_node = cluster.node_of(now_server);
  CHECK_MESSAGE(now_node.has_value(), now_server);
  CHECK_MESSAGE(now_node != victim, now_server);
  CHECK_MESSAGE(gw.log().find("connected to " + now_server) != std::string::npos, tail(gw.log(), 4000));
  CHECK(gw.status("stats")["upstream"]["counters"]["connects"].get<std::uint64_t>() >= 2);
  // The gateway's side of the failover (loss, reconnection), with its log's timestamps.
  {
    std::istringstream log(gw.log());
    for (std::string line; std::getline(log, line);)
      if (line.find("upstream: connect") != std::string::npos || line.find("lost (") != std::string::npos)
        std::printf("  gateway: %s\n", line.c_str());
  }

  // Downlink through a survivor: what was published during the outage, then a command to each.
  for (std::size_t i = 0; i < kNodes; ++i)
    REQUIRE(watcher.publish("e2e/cl/down/" + std::to_string(i), "after-" + std::to_string(i), 1, false));
  for (std::size_t i = 0; i < kNodes; ++i)
    CHECK_MESSAGE(nodes.run_until([&] { return has_payload(nodes, i, "after-" + std::to_string(i)); }, 15s),
                  nodes.describe(i));
  CHECK_MESSAGE(has_payload(nodes, 0, "during"), nodes.describe(0));
}
