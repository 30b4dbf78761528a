// Per-node upstream mode through the real mqttsn-gw and a mosquitto secured the usual way for
// sensors: password_file + acl_file, one user per device. Each node has its own MQTT connection, so
// the broker applies that device's ACL, refuses its bad password, and publishes its will itself when
// the gateway dies.
#include <doctest/doctest.h>

#include <csignal>
#include <set>
#include <string>
#include <thread>

#include "e2e/e2e_config.hpp"
#include "e2e/e2e_nodes.hpp"
#include "e2e/gateway_process.hpp"
#include "gateway/core/codec.hpp"
#include "support/mosquitto_broker.hpp"
#include "support/paho_test_client.hpp"

using namespace mqttsn::e2e;
using namespace std::chrono_literals;
using mqttsn::ReturnCode;
using mqttsn::test::GatewayProcess;
using mqttsn::test::MosquittoBroker;
using mqttsn::test::MosquittoOptions;
using mqttsn::test::PahoTestClient;

namespace {

MosquittoOptions secured_broker() {
  MosquittoOptions o;
  o.allow_anonymous = false;
  o.users = {{"gw", "gw-secret"}, {"watcher", "w-secret"}, {"node-a", "a-secret"}, {"node-b", "b-secret"}};
  o.acl =
      "user gw\ntopic readwrite mqttsn-gw/#\ntopic readwrite e2e/plain/#\ntopic read e2e/shared/#\n"
      "user watcher\ntopic read #\ntopic write e2e/shared/#\n"
      "user node-a\ntopic readwrite e2e/a/#\ntopic read e2e/shared/#\n"
      "user node-b\ntopic readwrite e2e/b/#\ntopic read e2e/shared/#\n";
  return o;
}

struct PerNodeSetup {
  MosquittoBroker broker{secured_broker()};
  PahoTestClient watcher;
  std::uint16_t port = free_udp_port();
  GatewayProcess gw;
  NodeHarness nodes;
  mqttsn::sim::UdpTransport* udp = nullptr;

  // A message the node client has no command for (a will update), from node i's socket.
  void send_raw(std::size_t i, const mqttsn::Message& m) {
    std::vector<std::uint8_t> buf(512);
    const auto r = mqttsn::encode(m, buf);
    REQUIRE(r);
    buf.resize(r.size);
    udp->send(i, mqttsn::sim::Datagram{buf, false});
  }

  // mixed: a shared gateway whose admission list marks node-a and node-b per_node.
  explicit PerNodeSetup(std::vector<mqttsn::sim::NodeConfig> node_configs, bool mixed = false)
      : watcher([&] {
          auto o = paho_options(broker.uri(), "e2e-pernode-watcher");
          o.username = "watcher";
          o.password = "w-secret";
          return o;
        }()),
        gw(GatewayToml{.broker_uri = broker.uri(),
                       .udp_port = port,
                       .clients_file = mixed ? "clients" : "",
                       .store = false,
                       .upstream_extra = std::string("username = \"gw\"\npassword_file = \"gw-password\"\n") +
                                         (mixed ? "" : "mode = \"per_node\"\n") +
                                         "credentials_file = \"node-credentials\"\n"
                                         "node_client_id_prefix = \"gw7-\"\n"}
               .to_toml(),
           "e2e-pernode"),
        nodes(std::move(node_configs)) {
    REQUIRE(watcher.connect());
    REQUIRE(watcher.subscribe("e2e/#", 2));
    gw.dir().write("gw-password", "gw-secret\n");
    gw.dir().write("clients", "node-a per_node\nnode-b per_node\n");
    gw.dir().write("node-b-password", "b-secret\n");
    gw.dir().write("node-credentials",
                   "node-a    username=node-a password=a-secret\n"
                   "node-b    username=node-b password_file=node-b-password\n"
                   "node-bad  username=node-a password=not-the-password\n");
    udp = &nodes.open_udp(port);
    REQUIRE_MESSAGE(gw.start(), gw.log());
    REQUIRE_MESSAGE(gw.wait_upstream_connected(), gw.log());
  }
};

mqttsn::sim::NodeConfig with_will(std::string client_id, std::string topic, std::uint16_t keep_alive_s = 60) {
  auto c = node_config(std::move(client_id), keep_alive_s);
  c.will = mqttsn::sim::WillConfig{std::move(topic), "gone", 1, false};
  return c;
}

}  // namespace

TEST_CASE("per-node: each node publishes under its own broker user, only where its ACL allows") {
  PerNodeSetup s({node_config("node-a"), node_config("node-b")});
  REQUIRE_MESSAGE(s.nodes.connect(0), s.nodes.describe(0) << "\n" << s.gw.log());
  REQUIRE_MESSAGE(s.nodes.connect(1), s.nodes.describe(1) << "\n" << s.gw.log());

  CHECK(s.nodes.publish(0, TopicRef::named("e2e/a/temp"), "from-a", 1));
  CHECK(s.nodes.publish(1, TopicRef::named("e2e/b/temp"), "from-b", 1));
  REQUIRE_MESSAGE(s.watcher.wait_for(2, 5s), s.gw.log());
  // Outside its ACL: mosquitto 2.0 drops the message and that node's connection (only that node's),
  // and the gateway connects it again.
  const auto log_at = s.gw.log().size();
  s.nodes.publish(0, TopicRef::named("e2e/b/forged"), "a-in-b", 1);
  s.nodes.publish(1, TopicRef::named("e2e/a/forged"), "b-in-a", 1);
  REQUIRE_MESSAGE(s.gw.wait_log("node node-a connected to the broker", log_at, 10s), s.gw.log());
  REQUIRE_MESSAGE(s.gw.wait_log("node node-b connected to the broker", log_at, 10s), s.gw.log());
  const auto got = s.watcher.messages();
  REQUIRE(got.size() == 2);
  std::set<std::string> seen{got[0].topic + "=" + got[0].payload, got[1].topic + "=" + got[1].payload};
  CHECK(seen == std::set<std::string>{"e2e/a/temp=from-a", "e2e/b/temp=from-b"});

  // gwctl clients: each node's own connection and the identity it has at the broker.
  const auto clients = s.gw.status("clients")["clients"];
  REQUIRE(clients.size() == 2);
  for (const auto& c : clients) {
    CHECK(c["upstream"] == "connected");
    CHECK(c["broker_client_id"] == "gw7-" + c["client_id"].get<std::string>());
    CHECK(c["broker_user"] == c["client_id"]);
  }
  const auto table = s.gw.gwctl({"clients"});
  CHECK(table.exit_status == 0);
  CHECK(table.out.find("gw7-node-a") != std::string::npos);
}

TEST_CASE("per-node: each node subscribes on its own connection and gets each message once") {
  PerNodeSetup s({node_config("node-a"), node_config("node-b")});
  REQUIRE_MESSAGE(s.nodes.connect(0), s.nodes.describe(0) << "\n" << s.gw.log());
  REQUIRE_MESSAGE(s.nodes.connect(1), s.nodes.describe(1) << "\n" << s.gw.log());
  for (std::size_t i : {0u, 1u}) {
    s.nodes.act(
        i, [](NodeClient& n, mqttsn::Millis t) { n.subscribe(TopicRef::named("e2e/shared/cmd"), 1, t); });
    REQUIRE_MESSAGE(s.nodes.wait_event(i, EventKind::subscribed), s.nodes.describe(i) << "\n" << s.gw.log());
  }
  // Both nodes hold the filter, each on its own connection: one message reaches each of them once.
  REQUIRE(s.watcher.publish("e2e/shared/cmd", "on", 1, false, 5000ms));
  for (std::size_t i : {0u, 1u})
    REQUIRE_MESSAGE(s.nodes.wait_event(i, EventKind::message), s.nodes.describe(i) << "\n" << s.gw.log());
  std::this_thread::sleep_for(500ms);
  s.nodes.run_until([] { return false; }, 200ms);
  CHECK(s.nodes.count(0, EventKind::message) == 1);
  CHECK(s.nodes.count(1, EventKind::message) == 1);

  // node-a's own topic: what it subscribes to there comes to it alone.
  s.nodes.act(0, [](NodeClient& n, mqttsn::Millis t) { n.subscribe(TopicRef::named("e2e/a/cmd"), 1, t); });
  REQUIRE_MESSAGE(s.nodes.wait_event(0, EventKind::subscribed), s.nodes.describe(0));
  CHECK(s.nodes.publish(0, TopicRef::named("e2e/a/cmd"), "self", 1));
  REQUIRE_MESSAGE(s.nodes.wait_event(0, EventKind::message), s.nodes.describe(0) << "\n" << s.gw.log());
  CHECK(s.nodes.count(1, EventKind::message) == 1);
}

TEST_CASE("per-node: a wrong password is refused at CONNECT with the broker's reason in the log") {
  PerNodeSetup s({node_config("node-bad")});
  CHECK_MESSAGE(s.nodes.connect_refused(0) == ReturnCode::not_supported, s.nodes.describe(0));
  CHECK_MESSAGE(s.gw.wait_log("node node-bad refused: the broker said CONNACK"), s.gw.log());
  CHECK(s.gw.status("clients")["clients"].empty());
}

TEST_CASE("per-node: a node without credentials is refused with a clear log line") {
  PerNodeSetup s({node_config("stranger")});
  CHECK_MESSAGE(s.nodes.connect_refused(0) == ReturnCode::not_supported, s.nodes.describe(0));
  CHECK_MESSAGE(s.gw.wait_log("node stranger refused: no broker identity for it in"), s.gw.log());
}

TEST_CASE("per-node: SIGHUP re-reads the credentials file, and the next CONNECT uses it") {
  PerNodeSetup s({node_config("stranger")});
  CHECK_FALSE(s.nodes.connect(0));
  s.gw.dir().write("node-credentials", "stranger username=node-b password_file=node-b-password\n");
  const auto log_at = s.gw.log().size();
  s.gw.signal(SIGHUP);
  REQUIRE_MESSAGE(s.gw.wait_log("reload: 1 node broker identity applied", log_at), s.gw.log());
  CHECK_MESSAGE(s.nodes.connect(0), s.nodes.describe(0) << "\n" << s.gw.log());
  const auto clients = s.gw.status("clients")["clients"];
  REQUIRE(clients.size() == 1);
  CHECK(clients[0]["broker_user"] == "node-b");
}

TEST_CASE("per-node: a node that goes silent has its will published on its own connection") {
  PerNodeSetup s({with_will("node-a", "e2e/a/will", 2)});
  REQUIRE_MESSAGE(s.nodes.connect(0), s.nodes.describe(0) << "\n" << s.gw.log());
  s.nodes.mute(0);
  REQUIRE_MESSAGE(s.watcher.wait_for(1, 8s), s.gw.log());
  const auto will = s.watcher.messages().front();
  CHECK(will.topic == "e2e/a/will");
  CHECK(will.payload == "gone");
  // Once, by the gateway: the connection then closed with DISCONNECT, so the broker adds none.
  std::this_thread::sleep_for(500ms);
  CHECK(s.watcher.count() == 1);
}

TEST_CASE("per-node: when the gateway is killed the broker publishes every node's will") {
  PerNodeSetup s({with_will("node-a", "e2e/a/will"), with_will("node-b", "e2e/b/will")});
  REQUIRE_MESSAGE(s.nodes.connect(0), s.nodes.describe(0) << "\n" << s.gw.log());
  REQUIRE_MESSAGE(s.nodes.connect(1), s.nodes.describe(1) << "\n" << s.gw.log());
  CHECK(s.watcher.count() == 0);
  s.gw.kill_hard();
  REQUIRE_MESSAGE(s.watcher.wait_for(2, 5s), s.broker.log());
  std::set<std::string> topics;
  for (const auto& m : s.watcher.messages()) topics.insert(m.topic);
  CHECK(topics == std::set<std::string>{"e2e/a/will", "e2e/b/will"});
}

TEST_CASE("mixed: shared and per-node nodes on one gateway, each message delivered once") {
  PerNodeSetup s({node_config("node-a"), node_config("plain-1"), node_config("plain-2")}, true);
  for (std::size_t i : {0u, 1u, 2u})
    REQUIRE_MESSAGE(s.nodes.connect(i), s.nodes.describe(i) << "\n" << s.gw.log());
  for (std::size_t i : {0u, 1u, 2u}) {
    s.nodes.act(
        i, [](NodeClient& n, mqttsn::Millis t) { n.subscribe(TopicRef::named("e2e/shared/cmd"), 1, t); });
    REQUIRE_MESSAGE(s.nodes.wait_event(i, EventKind::subscribed), s.nodes.describe(i) << "\n" << s.gw.log());
  }
  // The broker sends it on node-a's connection and on the shared one: each node gets it once.
  REQUIRE(s.watcher.publish("e2e/shared/cmd", "on", 1, false, 5000ms));
  for (std::size_t i : {0u, 1u, 2u})
    REQUIRE_MESSAGE(s.nodes.wait_event(i, EventKind::message), s.nodes.describe(i) << "\n" << s.gw.log());
  REQUIRE(s.watcher.publish("e2e/shared/cmd", "off", 1, false, 5000ms));
  for (std::size_t i : {0u, 1u, 2u})
    REQUIRE_MESSAGE(s.nodes.run_until([&] { return s.nodes.count(i, EventKind::message) >= 2; }, 5s),
                    s.nodes.describe(i) << "\n"
                                        << s.gw.log());
  std::this_thread::sleep_for(500ms);
  s.nodes.run_until([] { return false; }, 300ms);
  for (std::size_t i : {0u, 1u, 2u}) CHECK(s.nodes.count(i, EventKind::message) == 2);

  // node-a publishes as the broker user node-a (the gateway's user may not write e2e/a/#), the
  // shared nodes as the gateway's user.
  CHECK(s.nodes.publish(0, TopicRef::named("e2e/a/temp"), "from-a", 1));
  CHECK(s.nodes.publish(1, TopicRef::named("e2e/plain/temp"), "from-plain", 1));
  REQUIRE_MESSAGE(s.watcher.wait_for(4, 5s), s.gw.log());
  std::set<std::string> seen;
  for (const auto& m : s.watcher.messages()) seen.insert(m.topic + "=" + m.payload);
  CHECK(seen.count("e2e/a/temp=from-a") == 1);
  CHECK(seen.count("e2e/plain/temp=from-plain") == 1);

  const auto clients = s.gw.status("clients")["clients"];
  REQUIRE(clients.size() == 3);
  for (const auto& c : clients) {
    CAPTURE(c.dump());
    if (c["client_id"] == "node-a") {
      CHECK(c["upstream"] == "connected");
      CHECK(c["broker_user"] == "node-a");
    } else {
      CHECK(c["upstream"] == "none");
    }
  }
  // The shared node leaving does not take node-a's subscription with it, nor the other way round.
  s.nodes.act(1, [](NodeClient& n, mqttsn::Millis t) { n.disconnect(t); });
  REQUIRE(s.watcher.publish("e2e/shared/cmd", "third", 1, false, 5000ms));
  for (std::size_t i : {0u, 2u})
    REQUIRE_MESSAGE(s.nodes.run_until([&] { return s.nodes.count(i, EventKind::message) >= 3; }, 5s),
                    s.nodes.describe(i) << "\n"
                                        << s.gw.log());
}

TEST_CASE("per-node: a will update makes the connection again, and the new will is the one published") {
  PerNodeSetup s({with_will("node-a", "e2e/a/will", 3)});
  REQUIRE_MESSAGE(s.nodes.connect(0), s.nodes.describe(0) << "\n" << s.gw.log());
  s.nodes.act(0,
              [](NodeClient& n, mqttsn::Millis t) { n.subscribe(TopicRef::named("e2e/shared/cmd"), 1, t); });
  REQUIRE_MESSAGE(s.nodes.wait_event(0, EventKind::subscribed), s.nodes.describe(0) << "\n" << s.gw.log());

  auto at = s.gw.log().size();
  const std::string message = "gone for good";
  s.send_raw(0, mqttsn::WillMsgUpd{
                    mqttsn::Bytes(reinterpret_cast<const std::uint8_t*>(message.data()), message.size())});
  REQUIRE_MESSAGE(s.gw.wait_log("node node-a connected to the broker", at, 10s), s.gw.log());
  at = s.gw.log().size();
  s.send_raw(0, mqttsn::WillTopicUpd{false, 1, false, "e2e/a/will2"});
  REQUIRE_MESSAGE(s.gw.wait_log("node node-a connected to the broker", at, 10s), s.gw.log());
  // The old connection closed with DISCONNECT: the broker published no will for it.
  s.nodes.run_for(500ms);
  CHECK(s.watcher.count() == 0);
  // Its subscription came along to the new connection.
  REQUIRE(s.watcher.publish("e2e/shared/cmd", "on", 1, false, 5000ms));
  REQUIRE_MESSAGE(s.nodes.wait_event(0, EventKind::message), s.nodes.describe(0) << "\n" << s.gw.log());

  s.nodes.mute(0);
  REQUIRE_MESSAGE(s.watcher.wait_for(2, 10s), s.gw.log());
  const auto got = s.watcher.messages();
  CHECK(got[1].topic == "e2e/a/will2");
  CHECK(got[1].payload == message);
}

TEST_CASE("per-node: when the first server dies, node connections fail over to the next in servers") {
  MosquittoBroker first, second;
  PahoTestClient watcher(paho_options(second.uri(), "e2e-pernode-failover-watcher"));
  REQUIRE(watcher.connect());
  REQUIRE(watcher.subscribe("e2e/#", 1));
  const std::uint16_t port = free_udp_port();
  GatewayProcess gw(
      GatewayToml{.broker_uri = first.uri(),
                  .more_servers = {second.uri()},
                  .udp_port = port,
                  .store = false,
                  .upstream_extra = "mode = \"per_node\"\ncredentials_file = \"node-credentials\"\n"}
          .to_toml(),
      "e2e-pernode-failover");
  gw.dir().write("node-credentials", "%c\n");
  NodeHarness nodes({node_config("node-a"), node_config("node-b")});
  nodes.open_udp(port);
  REQUIRE_MESSAGE(gw.start(), gw.log());
  REQUIRE_MESSAGE(gw.wait_upstream_connected(), gw.log());
  REQUIRE_MESSAGE(nodes.connect(0), nodes.describe(0) << "\n" << gw.log());
  CHECK(nodes.publish(0, TopicRef::named("e2e/a/r"), "on-first", 1));
  const auto log_at = gw.log().size();
  first.stop();
  // The node's connection is made again by the gateway, on the second server; the node never knew.
  REQUIRE_MESSAGE(gw.wait_log("lost its broker connection", log_at, 10s), gw.log());
  REQUIRE_MESSAGE(gw.wait_log("node node-a connected to the broker", log_at, 15s), gw.log());
  CHECK(nodes.publish(0, TopicRef::named("e2e/a/r"), "on-second", 1));
  REQUIRE_MESSAGE(watcher.wait_for(1, 5s), gw.log());
  CHECK(watcher.messages().front().payload == "on-second");
  CHECK(nodes.count(0, EventKind::connected) == 1);
  // A node that connects now is not refused for the dead first server: its attempt goes on to the next.
  REQUIRE_MESSAGE(nodes.connect(1), nodes.describe(1) << "\n" << gw.log());
  CHECK(nodes.publish(1, TopicRef::named("e2e/b/r"), "b-on-second", 1));
  REQUIRE_MESSAGE(watcher.wait_for(2, 5s), gw.log());
}
