// Downlink for kept sessions across a crash: a QoS 1/2 message the broker handed over (and was told
// arrived) is never lost. Each trial: a node with a kept session (asleep, away, or awake and not yet
// acknowledging), five broker-side publishes, SIGKILL of the gateway at once (nothing waited for),
// a start, and the node collects. QoS 1: every message at least once; QoS 2: exactly once.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <string>
#include <thread>
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
using mqttsn::test::MosquittoOptions;
using mqttsn::test::PahoTestClient;

namespace {

enum class NodeAt { asleep, away, awake_unacknowledged };

const char* to_string(NodeAt at) {
  switch (at) {
    case NodeAt::asleep:
      return "asleep";
    case NodeAt::away:
      return "away";
    case NodeAt::awake_unacknowledged:
      return "awake, not acknowledging yet";
  }
  return "?";
}

constexpr int kTrials = 10;
constexpr int kMessages = 5;

struct Scenario {
  NodeAt at = NodeAt::asleep;
  int qos = 1;
  bool broker_restart = false;
};

// A gateway on `broker` and one CleanSession=0 node subscribed to `topic` through it.
struct KeptNode {
  KeptNode(const MosquittoBroker& broker, const std::string& tag, const std::string& topic,
           mqttsn::QoS sub_qos, const std::string& store_extra = {})
      : port(free_udp_port()),
        gw(config(broker, tag, port, store_extra), "e2e-dl-" + tag),
        nodes({node(tag)}) {
    nodes.open_udp(port);
    REQUIRE_MESSAGE(gw.start(), tail(gw.log(), 4000));
    REQUIRE_MESSAGE(gw.wait_upstream_connected(), tail(gw.log(), 4000));
    REQUIRE_MESSAGE(nodes.connect(0), nodes.describe(0));
    nodes.act(0, [&](NodeClient& n, Millis t) { n.subscribe(TopicRef::named(topic), sub_qos, t); });
    REQUIRE_MESSAGE(nodes.wait_event(0, EventKind::subscribed), nodes.describe(0));
  }

  // How many times `payload` reached the node.
  int count_of(const std::string& payload) const {
    int n = 0;
    for (const auto& e : nodes.events(0, EventKind::message))
      if (text_of(e.payload) == payload) ++n;
    return n;
  }
  bool all_arrived(const std::vector<std::string>& payloads) const {
    return std::all_of(payloads.begin(), payloads.end(),
                       [&](const std::string& p) { return count_of(p) > 0; });
  }

  std::uint16_t port;
  GatewayProcess gw;
  NodeHarness nodes;

 private:
  static std::string config(const MosquittoBroker& broker, const std::string& tag, std::uint16_t port,
                            const std::string& store_extra) {
    GatewayToml toml{.broker_uri = broker.uri(), .udp_port = port};
    toml.upstream_client_id = "e2e-dl-%g-" + tag;
    toml.store_extra = store_extra;
    return toml.to_toml();
  }
  static NodeConfig node(const std::string& tag) {
    auto cfg = node_config("dl-node-" + tag, 60);
    cfg.clean_session = false;
    return cfg;
  }
};

// How many times each payload reached the node, per trial.
void run_trials(const Scenario& sc) {
  MosquittoOptions options;
  options.persistence = sc.broker_restart;
  MosquittoBroker broker(options);
  std::map<std::string, int> seen_total;
  int lost = 0, duplicated = 0;
  for (int trial = 0; trial < kTrials; ++trial) {
    const std::string tag = "t" + std::to_string(trial);
    const std::string topic = "e2e/dl/" + tag + "/cmd";
    KeptNode k(broker, tag, topic, 2);
    auto& gw = k.gw;
    auto& nodes = k.nodes;
    if (sc.at == NodeAt::asleep) {
      nodes.act(0, [](NodeClient& n, Millis t) { n.sleep(120, t); });
      REQUIRE_MESSAGE(nodes.wait_event(0, EventKind::asleep), nodes.describe(0));
    } else if (sc.at == NodeAt::away) {
      nodes.act(0, [](NodeClient& n, Millis t) { n.disconnect(t); });
      REQUIRE_MESSAGE(nodes.wait_event(0, EventKind::disconnected), nodes.describe(0));
    }
    const std::string want_state = sc.at == NodeAt::asleep ? "asleep"
                                   : sc.at == NodeAt::away ? "disconnected"
                                                           : "active";
    REQUIRE_MESSAGE(gw.wait_status("clients",
                                   [&](const nlohmann::json& j) {
                                     return !j["clients"].empty() && j["clients"][0]["state"] == want_state;
                                   }),
                    gw.status("clients").dump());

    // The broker-side publisher: as soon as the broker has the last one, the gateway dies.
    PahoTestClient commander(paho_options(broker.uri(), "e2e-dl-commander-" + tag));
    REQUIRE(commander.connect());
    std::vector<std::string> sent;
    for (int i = 0; i < kMessages; ++i) sent.push_back(tag + "-m" + std::to_string(i));
    for (const auto& p : sent) REQUIRE(commander.publish(topic, p, sc.qos, false));
    gw.kill_hard();
    commander.disconnect();
    if (sc.broker_restart) {
      broker.stop();
      broker.start();
    }

    REQUIRE_MESSAGE(gw.start(), tail(gw.log(), 4000));
    REQUIRE_MESSAGE(gw.wait_upstream_connected(10s), tail(gw.log(), 4000));
    auto all_arrived = [&] { return k.all_arrived(sent); };
    if (sc.at == NodeAt::asleep) {
      // A sleeping node wakes now and then; what the broker resends after the restart may come
      // after one wake-up, and waits for the next.
      const auto until = std::chrono::steady_clock::now() + 8s;
      while (!all_arrived() && std::chrono::steady_clock::now() < until) {
        nodes.act(0, [](NodeClient& n, Millis t) { n.wake(t); });
        nodes.wait_event(0, EventKind::awake_done, 3s);
        if (!all_arrived()) nodes.run_for(300ms);
      }
    } else {
      if (sc.at == NodeAt::away) nodes.act(0, [](NodeClient& n, Millis t) { n.connect(t, false); });
      // The node (which, awake, only now reads what the first gateway sent it) collects for a while.
      nodes.run_until(all_arrived, 8s);
    }
    nodes.run_for(sc.qos == 2 ? 1500ms : 200ms);  // a second copy, if one were coming
    for (const auto& p : sent) {
      const int n = k.count_of(p);
      seen_total[p] = n;
      if (n == 0) ++lost;
      if (n > 1) ++duplicated;
      CHECK_MESSAGE(n >= 1, std::string(to_string(sc.at))
                                << " QoS " << sc.qos << " trial " << trial << ": " << p << " lost\n"
                                << nodes.describe(0) << "\n"
                                << tail(gw.log(), 6000));
      if (sc.qos == 2)
        CHECK_MESSAGE(n <= 1, p << " arrived " << n << " times at QoS 2\n"
                                << nodes.describe(0) << "\n"
                                << tail(gw.log(), 5000));
    }
  }
  MESSAGE(std::string(to_string(sc.at))
          << ", QoS " << sc.qos << std::string(sc.broker_restart ? ", broker restarted" : "") << ": "
          << kTrials << " trials x " << kMessages << " messages, " << lost << " lost, " << duplicated
          << " duplicated");
}

}  // namespace

TEST_CASE("kept downlink: a sleeping node gets every QoS 1 message the broker handed over before a SIGKILL") {
  run_trials({.at = NodeAt::asleep, .qos = 1});
}

TEST_CASE("kept downlink: a sleeping node gets every QoS 2 message exactly once across a SIGKILL") {
  run_trials({.at = NodeAt::asleep, .qos = 2});
}

TEST_CASE("kept downlink: an away CleanSession=0 node gets every QoS 1 message across a SIGKILL") {
  run_trials({.at = NodeAt::away, .qos = 1});
}

TEST_CASE("kept downlink: an awake node that has not acknowledged yet gets every QoS 1 message") {
  run_trials({.at = NodeAt::awake_unacknowledged, .qos = 1});
}

TEST_CASE("kept downlink: nothing lost across a SIGKILL followed by a broker restart") {
  run_trials({.at = NodeAt::asleep, .qos = 1, .broker_restart = true});
}

namespace {
std::uint64_t upstream_counter(const GatewayProcess& gw, const char* name) {
  const auto j = gw.status("stats");
  return j["upstream"]["counters"].value(name, std::uint64_t{0});
}
}  // namespace

// An awake node that acknowledges at once costs the SD card nothing: the broker's acknowledgement
// waits for the node's, and the message is never written. A sleeping node's messages are written
// at once (it cannot acknowledge). Then a crash in the middle of such a stream loses nothing.
TEST_CASE(
    "kept downlink: an awake node that acknowledges costs no write, and a crash mid-stream loses nothing") {
  MosquittoBroker broker;
  const std::string topic = "e2e/dl/awake/cmd";
  // Long enough that a slow test machine still answers in time: what is checked is that nothing is
  // written when the node answers, not how fast it answers.
  KeptNode k(broker, "awake", topic, 1, "downlink_ack_wait = \"3s\"\n");
  auto& gw = k.gw;
  auto& nodes = k.nodes;
  REQUIRE(gw.wait_status(
      "stats", [](const nlohmann::json& j) { return j["upstream"].value("kept_filters", 0) >= 1; }));

  PahoTestClient commander(paho_options(broker.uri(), "e2e-dl-awake-commander"));
  REQUIRE(commander.connect());
  auto count_of = [&](const std::string& p) { return k.count_of(p); };
  auto publish_while_node_runs = [&](const std::vector<std::string>& payloads, std::size_t stop_after) {
    std::thread publisher([&] {
      for (const auto& p : payloads) CHECK(commander.publish(topic, p, 1, false));
    });
    nodes.run_until(
        [&] {
          std::size_t n = 0;
          for (const auto& p : payloads) n += count_of(p) > 0 ? 1 : 0;
          return n >= stop_after;
        },
        10s);
    publisher.join();
  };

  std::vector<std::string> first;
  for (int i = 0; i < 20; ++i) first.push_back("awake-" + std::to_string(i));
  const std::uint64_t written_before = upstream_counter(gw, "inbox_written");
  publish_while_node_runs(first, first.size());
  for (const auto& p : first) CHECK_MESSAGE(count_of(p) >= 1, p << " did not arrive\n" << nodes.describe(0));
  // The receive thread counts a message once the node's PUBACK has released it, just after the node
  // has it.
  CHECK(gw.wait_status("stats", [&](const nlohmann::json& j) {
    return j["upstream"]["counters"].value("acked_by_nodes", std::uint64_t{0}) == first.size();
  }));
  CHECK(upstream_counter(gw, "inbox_written") == written_before);

  // Asleep: written at once, without waiting for an answer that cannot come.
  nodes.act(0, [](NodeClient& n, Millis t) { n.sleep(120, t); });
  REQUIRE_MESSAGE(nodes.wait_event(0, EventKind::asleep), nodes.describe(0));
  REQUIRE(gw.wait_status("clients", [](const nlohmann::json& j) {
    return !j["clients"].empty() && j["clients"][0]["state"] == "asleep";
  }));
  const auto asleep_start = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) REQUIRE(commander.publish(topic, "asleep-" + std::to_string(i), 1, false));
  REQUIRE(gw.wait_status("stats", [&](const nlohmann::json& j) {
    return j["upstream"]["counters"].value("inbox_written", std::uint64_t{0}) == written_before + 3;
  }));
  CHECK_MESSAGE(std::chrono::steady_clock::now() - asleep_start < 2500ms, "the hold ran out instead");
  CHECK(upstream_counter(gw, "acked_by_nodes") == first.size());
  nodes.act(0, [](NodeClient& n, Millis t) { n.wake(t); });
  REQUIRE_MESSAGE(nodes.wait_event(0, EventKind::awake_done, 5s), nodes.describe(0));
  nodes.act(0, [](NodeClient& n, Millis t) { n.connect(t, false); });
  REQUIRE_MESSAGE(nodes.wait_event(0, EventKind::connected), nodes.describe(0));

  // Killed while the node is part-way through a stream: whatever the broker was told arrived,
  // arrives (again, if need be) after the restart.
  std::vector<std::string> second;
  for (int i = 0; i < 10; ++i) second.push_back("crash-" + std::to_string(i));
  publish_while_node_runs(second, 3);
  gw.kill_hard();
  REQUIRE_MESSAGE(gw.start(), tail(gw.log(), 4000));
  REQUIRE_MESSAGE(gw.wait_upstream_connected(10s), tail(gw.log(), 4000));
  nodes.run_until([&] { return k.all_arrived(second); }, 10s);
  for (const auto& p : second)
    CHECK_MESSAGE(count_of(p) >= 1, p << " lost across the SIGKILL\n"
                                      << nodes.describe(0) << "\n"
                                      << tail(gw.log(), 6000));
  commander.disconnect();
}
