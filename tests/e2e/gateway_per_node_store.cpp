// The store's write-behind for publishes on the nodes' own connections, through the real mqttsn-gw
// and a mosquitto with one user per device. A node's QoS 1 reading is acknowledged when its row is
// committed, also while the node's own connection is down; it reaches the broker under the node's
// identity when the connection is back, or, when the node is gone by then (a gateway restart in
// between), on a connection the gateway opens for it with the node's identity. The ACL lets only
// the node's user write its topics, so every arrival proves the identity it came with.
#include <doctest/doctest.h>

#include <set>
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
using mqttsn::test::MosquittoOptions;
using mqttsn::test::PahoTestClient;

namespace {

MosquittoOptions secured_persistent_broker() {
  MosquittoOptions o;
  o.allow_anonymous = false;
  o.persistence = true;  // the watcher's session and queue survive the broker's restart
  o.users = {{"gw", "gw-secret"}, {"watcher", "w-secret"}, {"node-a", "a-secret"}};
  o.acl =
      "user gw\ntopic readwrite mqttsn-gw/#\n"
      "user watcher\ntopic read #\n"
      "user node-a\ntopic readwrite e2e/a/#\n";
  return o;
}

struct StoreSetup {
  MosquittoBroker broker{secured_persistent_broker()};
  PahoTestClient watcher;
  std::uint16_t port = free_udp_port();
  GatewayProcess gw;
  NodeHarness nodes;

  // mixed: a shared gateway whose admission list marks node-a per_node.
  explicit StoreSetup(bool mixed)
      : watcher([&] {
          auto o = paho_options(broker.uri(), "e2e-pernode-store-watcher", false);
          o.username = "watcher";
          o.password = "w-secret";
          return o;
        }()),
        gw(GatewayToml{.broker_uri = broker.uri(),
                       .udp_port = port,
                       .clients_file = mixed ? "clients" : "",
                       .store_extra = "flush_interval = \"300ms\"\n",
                       .upstream_extra = std::string("username = \"gw\"\npassword_file = \"gw-password\"\n") +
                                         (mixed ? "" : "mode = \"per_node\"\n") +
                                         "credentials_file = \"node-credentials\"\n"}
               .to_toml(),
           "e2e-pernode-store"),
        nodes({[] {
          auto c = node_config("node-a");
          c.n_retry = 5;
          return c;
        }()}) {
    // The watcher keeps a session at the broker and is away until the end: the broker queues what
    // arrives for it, through its own restart, and hands it all over when the watcher is back.
    REQUIRE(watcher.connect());
    REQUIRE(watcher.subscribe("e2e/#", 1));
    watcher.disconnect();
    gw.dir().write("gw-password", "gw-secret\n");
    gw.dir().write("clients", "node-a per_node\n");
    gw.dir().write("node-credentials", "node-a username=node-a password=a-secret\n");
    nodes.open_udp(port);
    REQUIRE_MESSAGE(gw.start(), gw.log());
    REQUIRE_MESSAGE(gw.wait_upstream_connected(), gw.log());
    REQUIRE_MESSAGE(nodes.connect(0), nodes.describe(0) << "\n" << gw.log());
  }

  // Readings k in [from, to), each acknowledged (PUBACK accepted) before the next.
  void publish(int from, int to) {
    for (int k = from; k < to; ++k)
      REQUIRE_MESSAGE(nodes.publish(0, TopicRef::named("e2e/a/r"), "r" + std::to_string(k), 1),
                      nodes.describe(0) << "\n"
                                        << gw.log());
  }

  void stop_broker() {
    broker.stop();
    REQUIRE_MESSAGE(gw.wait_status(
                        "clients",
                        [](const nlohmann::json& j) {
                          return !j["clients"].empty() && j["clients"][0]["upstream"] != "connected";
                        },
                        10s),
                    gw.log());
  }

  // Every reading in [0, n) reached the watcher (duplicates allowed: at least once).
  void check_all_arrived(int n) {
    REQUIRE(watcher.connect());
    std::set<std::string> want;
    for (int k = 0; k < n; ++k) want.insert("r" + std::to_string(k));
    std::set<std::string> got;
    for (int waited = 0; waited < 150 && got != want; ++waited) {
      watcher.wait_for(want.size(), 100ms);
      got.clear();
      for (const auto& m : watcher.messages())
        if (m.topic == "e2e/a/r") got.insert(m.payload);
    }
    std::string missing;
    for (const auto& r : want)
      if (!got.contains(r)) missing += r + " ";
    CHECK_MESSAGE(got == want, "missing: " << missing << "\n" << gw.log() << "\n" << broker.log());
  }

  void check_outboxes_empty() {
    CHECK_MESSAGE(gw.wait_status("stats",
                                 [](const nlohmann::json& j) {
                                   return j["upstream"]["node_connections"]["outbox_messages"] == 0;
                                 }),
                  gw.status("stats")["upstream"].dump());
  }
};

void readings_kept_across_broker_outage(bool mixed) {
  StoreSetup s(mixed);
  s.publish(0, 5);
  s.stop_broker();
  // The node's connection is down: each reading is acknowledged once its row is committed, and waits
  // in the node's outbox.
  s.publish(5, 15);
  const auto clients = s.gw.status("clients")["clients"];
  REQUIRE(clients.size() == 1);
  CHECK(clients[0]["upstream_outbox"] == 10);
  s.broker.start();
  s.check_all_arrived(15);
  s.check_outboxes_empty();
  CHECK(s.gw.status("clients")["clients"][0]["upstream"] == "connected");
  CHECK(s.gw.wait_status("store", [](const nlohmann::json& j) { return j["store"]["uplink_queued"] == 0; }));
}

void readings_kept_across_gateway_crash(bool mixed) {
  StoreSetup s(mixed);
  s.publish(0, 3);
  s.stop_broker();
  s.publish(3, 13);
  // The gateway dies with the readings only in its store, and the node does not come back.
  s.gw.kill_hard();
  s.broker.start();
  REQUIRE_MESSAGE(s.gw.start(), s.gw.log());
  REQUIRE_MESSAGE(s.gw.wait_log("node node-a is away with 10 message(s) for the broker"), s.gw.log());
  s.check_all_arrived(13);
  s.check_outboxes_empty();
  // Its work done, the delivery connection is closed.
  CHECK_MESSAGE(
      s.gw.wait_status(
          "stats", [](const nlohmann::json& j) { return j["upstream"]["node_connections"]["open"] == 0; }),
      s.gw.status("stats").dump());
  CHECK(s.gw.wait_status("store", [](const nlohmann::json& j) { return j["store"]["uplink_queued"] == 0; }));
}

}  // namespace

TEST_CASE(
    "per-node store: readings acknowledged while the node's connection is down reach the broker as it") {
  readings_kept_across_broker_outage(false);
}

TEST_CASE("per-node store: mixed mode, a marked node's readings wait for its own connection too") {
  readings_kept_across_broker_outage(true);
}

TEST_CASE("per-node store: rows of a node gone after a gateway crash go on a connection with its identity") {
  readings_kept_across_gateway_crash(false);
}

TEST_CASE("per-node store: mixed mode, rows after a crash go as the marked node, not the gateway") {
  readings_kept_across_gateway_crash(true);
}

TEST_CASE("per-node store: rows of a node that has no broker identity any more are dropped, and said so") {
  StoreSetup s(false);
  s.stop_broker();
  s.publish(0, 4);
  s.gw.kill_hard();
  // The operator took the node out of the credentials file meanwhile.
  s.gw.dir().write("node-credentials", "node-z username=node-a password=a-secret\n");
  s.broker.start();
  REQUIRE_MESSAGE(s.gw.start(), s.gw.log());
  REQUIRE_MESSAGE(s.gw.wait_log("4 message(s) of node node-a cannot reach the broker under its identity"),
                  s.gw.log());
  CHECK(s.gw.wait_status("store", [](const nlohmann::json& j) { return j["store"]["uplink_queued"] == 0; }));
  s.check_outboxes_empty();
  REQUIRE(s.watcher.connect());
  s.nodes.run_for(500ms);
  CHECK(s.watcher.count() == 0);
}
