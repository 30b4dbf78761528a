// A node's sleep through the real mqttsn-gw and a real mosquitto: everything published to it while it
// sleeps reaches it, in order, when it wakes, also across a gateway SIGKILL; each buffered message is
// one row written once (never a rewrite of its session), and the bytes the store wrote are reported;
// a buffer bound refuses QoS 1 messages, says so once in the log and per node in mqttsn-gwctl clients.
#include <doctest/doctest.h>

#include <cstdint>
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

namespace {

const char* kTopic = "e2e/sleeper/cmd";

// One sleeping node subscribed at QoS 1 behind a gateway, and a broker-side client to publish to it.
struct SleepingNode {
  explicit SleepingNode(const std::string& name, std::string limits = {})
      : commander(paho_options(broker.uri(), "e2e-" + name + "-commander")),
        port(free_udp_port()),
        gw(GatewayToml{.broker_uri = broker.uri(), .udp_port = port, .extra = std::move(limits)}.to_toml(),
           "e2e-" + name),
        nodes({node_config("sleeper", 10)}) {
    REQUIRE(commander.connect());
    nodes.open_udp(port);
    REQUIRE_MESSAGE(gw.start(), tail(gw.log(), 4000));
    REQUIRE_MESSAGE(gw.wait_upstream_connected(), tail(gw.log(), 4000));
    REQUIRE_MESSAGE(nodes.connect(0), nodes.describe(0));
    nodes.act(0, [](NodeClient& n, Millis t) { n.subscribe(TopicRef::named(kTopic), 1, t); });
    REQUIRE_MESSAGE(nodes.wait_event(0, EventKind::subscribed), nodes.describe(0));
    nodes.act(0, [](NodeClient& n, Millis t) { n.sleep(600, t); });
    REQUIRE_MESSAGE(nodes.wait_event(0, EventKind::asleep), nodes.describe(0));
    REQUIRE(gw.wait_status("clients", [](const nlohmann::json& j) {
      return !j["clients"].empty() && j["clients"][0]["state"] == "asleep";
    }));
  }

  // Publishes `n` numbered messages and waits until the gateway holds `expect_buffered` of them.
  std::vector<std::string> publish(std::size_t n, std::size_t expect_buffered) {
    std::vector<std::string> sent;
    for (std::size_t k = 0; k < n; ++k) {
      sent.push_back("reading-" + std::to_string(k));
      REQUIRE(commander.publish(kTopic, sent.back(), 1, false));
    }
    REQUIRE_MESSAGE(
        gw.wait_status(
            "clients",
            [&](const nlohmann::json& j) { return j["clients"][0]["buffered"] == expect_buffered; }, 20s),
        gw.status("clients").dump());
    return sent;
  }

  // Wakes the node; what it received while awake, in order.
  std::vector<std::string> wake() {
    nodes.act(0, [](NodeClient& n, Millis t) { n.wake(t); });
    REQUIRE_MESSAGE(nodes.wait_event(0, EventKind::awake_done, 60s), nodes.describe(0));
    std::vector<std::string> got;
    for (const auto& e : nodes.events(0, EventKind::message)) got.push_back(text_of(e.payload));
    return got;
  }

  std::uint64_t store_value(const char* key) { return gw.status("store")["store"][key].get<std::uint64_t>(); }

  MosquittoBroker broker;
  PahoTestClient commander;
  std::uint16_t port;
  GatewayProcess gw;
  NodeHarness nodes;
};

// A sleep through `n` messages: delivered in order on waking; the store wrote each as one row, once.
void sleep_through(std::size_t n, bool kill_before_wake) {
  SleepingNode s("sleep-" + std::to_string(n));
  const std::uint64_t bytes_before = s.store_value("bytes_written");
  const std::uint64_t sessions_before = s.store_value("snapshots_written");
  const auto sent = s.publish(n, n);
  // Written behind: the rows reach the file with the flush after the last message.
  REQUIRE_MESSAGE(
      s.gw.wait_status(
          "store", [&](const nlohmann::json& j) { return j["store"]["session_messages"] == n; }, 10s),
      s.gw.status("store").dump());
  const auto st = s.gw.status("store")["store"];
  CHECK(st["session_messages_written"] == n);
  CHECK(st["session_messages_erased"] == 0);
  // The session's own record is not rewritten for messages arriving while it sleeps.
  CHECK(st["snapshots_written"].get<std::uint64_t>() == sessions_before);
  const std::uint64_t bytes = st["bytes_written"].get<std::uint64_t>() - bytes_before;
  MESSAGE(n << " messages for a sleeping node: " << bytes << " bytes written by the store (" << bytes / n
            << " per message, both store files, WAL and checkpoints)");
  // A rewrite of the growing session per message would be quadratic: 1,000 x 13 KB on average.
  CHECK(bytes < n * 4096);

  if (kill_before_wake) {
    s.gw.kill_hard();
    REQUIRE_MESSAGE(s.gw.start(), tail(s.gw.log(), 4000));
    REQUIRE_MESSAGE(s.gw.wait_upstream_connected(), tail(s.gw.log(), 4000));
    const auto clients = s.gw.status("clients");
    REQUIRE_MESSAGE(clients["clients"].size() == 1, clients.dump());
    CHECK(clients["clients"][0]["buffered"] == n);
  }
  CHECK(s.wake() == sent);
  CHECK(s.nodes.count(0, EventKind::failure) == 0);
  // Delivered: the rows go with the next flush.
  CHECK(s.gw.wait_status(
      "store", [](const nlohmann::json& j) { return j["store"]["session_messages"] == 0; }, 10s));
}

}  // namespace

TEST_CASE("sleep: 50 QoS 1 messages for a sleeping node arrive in order when it wakes, written once each") {
  sleep_through(50, false);
}

TEST_CASE("sleep: 1,000 QoS 1 messages for a sleeping node arrive in order across a gateway SIGKILL") {
  sleep_through(1000, true);
}

TEST_CASE("sleep: a full buffer refuses QoS 1 messages, logs it once and shows it per node") {
  // 1 KiB: 35 readings of 29 octets (topic 15 + payload 14) fit, the other 5 are refused.
  SleepingNode s("sleep-full", "\n[gateway.limits]\nsleep_buffer_bytes_per_client = \"1K\"\n");
  std::vector<std::string> sent;
  for (std::size_t k = 0; k < 40; ++k) {
    sent.push_back("reading-" + std::to_string(100000 + k));
    REQUIRE(s.commander.publish(kTopic, sent.back(), 1, false));
  }
  REQUIRE_MESSAGE(s.gw.wait_status(
                      "clients",
                      [](const nlohmann::json& j) {
                        return j["clients"][0]["buffered"].get<std::size_t>() +
                                   j["clients"][0]["refused"].get<std::size_t>() ==
                               40;
                      },
                      10s),
                  s.gw.status("clients").dump());
  const auto c = s.gw.status("clients")["clients"][0];
  CHECK(c["buffered"] == 35);
  CHECK(c["buffered_bytes"] == 35 * 29);
  CHECK(c["refused"] == 5);
  CHECK(c["buffer_full"] == true);
  CHECK(s.gw.status("stats")["core"]["buffer_full"] == 5);
  const auto table = s.gw.gwctl({"clients"});
  REQUIRE(table.exit_status == 0);
  CHECK(table.out.find("REFUSED") != std::string::npos);
  // Logged once for the episode, not once per message.
  const std::string log = s.gw.log();
  std::size_t lines = 0;
  for (auto at = log.find("downlink buffer of sleeper full"); at != std::string::npos;
       at = log.find("downlink buffer of sleeper full", at + 1))
    ++lines;
  CHECK(lines == 1);
  // The first 35 arrive on waking; the episode ends as the buffer drains.
  CHECK(s.wake() == std::vector<std::string>(sent.begin(), sent.begin() + 35));
  CHECK(s.gw.wait_status("clients",
                         [](const nlohmann::json& j) { return j["clients"][0]["buffer_full"] == false; }));
  CHECK(s.gw.log().find("downlink buffer of sleeper takes messages again") != std::string::npos);
}
