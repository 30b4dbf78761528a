// Access control through the real mqttsn-gw: the admission list ([access] allow_anonymous = false +
// clients_file), the topic ACL (acl_file, mosquitto syntax, user = client id), and SIGHUP re-reading
// the ACL under a live session (a broken file keeps the rules in force).
#include <doctest/doctest.h>

#include <csignal>
#include <string>

#include "e2e/e2e_config.hpp"
#include "e2e/e2e_nodes.hpp"
#include "e2e/gateway_process.hpp"
#include "support/mosquitto_broker.hpp"
#include "support/paho_test_client.hpp"

using namespace mqttsn::e2e;
using namespace std::chrono_literals;
using mqttsn::Millis;
using mqttsn::ReturnCode;
using mqttsn::test::GatewayProcess;
using mqttsn::test::MosquittoBroker;
using mqttsn::test::PahoTestClient;

namespace {

// One admitted client with an ACL, on UDP; `acl` is written to {dir}/acl.
struct AccessSetup {
  MosquittoBroker broker;
  PahoTestClient watcher;
  std::uint16_t port = free_udp_port();
  GatewayProcess gw;
  NodeHarness nodes;

  AccessSetup(const std::string& acl, std::vector<mqttsn::sim::NodeConfig> node_configs)
      : watcher(paho_options(broker.uri(), "e2e-acl-watcher")),
        gw(GatewayToml{.broker_uri = broker.uri(),
                       .udp_port = port,
                       .allow_anonymous = false,
                       .clients_file = "clients",
                       .acl_file = "acl"}
               .to_toml(),
           "e2e-access"),
        nodes(std::move(node_configs)) {
    REQUIRE(watcher.connect());
    REQUIRE(watcher.subscribe("e2e/#", 2));
    gw.dir().write("clients", "# admitted client ids\nadmitted\n");
    gw.dir().write("acl", acl);
    nodes.open_udp(port);
    REQUIRE_MESSAGE(gw.start(), gw.log());
    REQUIRE_MESSAGE(gw.wait_upstream_connected(), gw.log());
  }

  // A publish the gateway must refuse with "rejected: not supported".
  void expect_denied(std::size_t i, const std::string& topic, mqttsn::QoS qos) {
    CAPTURE(topic);
    CHECK_FALSE(nodes.publish(i, TopicRef::named(topic), "denied", qos));
    const auto failures = nodes.events(i, EventKind::failure);
    REQUIRE_FALSE(failures.empty());
    CHECK(failures.back().rc == ReturnCode::not_supported);
  }

  std::uint64_t counter(const char* name) { return gw.status("stats")["core"].value(name, std::uint64_t{0}); }
};

}  // namespace

TEST_CASE("access: a client id not on the admission list is refused at CONNECT, and admitted after SIGHUP") {
  AccessSetup s("topic readwrite e2e/#\n", {node_config("admitted"), node_config("stranger")});
  CHECK_MESSAGE(s.nodes.connect(0), s.nodes.describe(0) << "\n" << s.gw.log());
  CHECK_FALSE(s.nodes.connect(1));
  const auto failures = s.nodes.events(1, EventKind::failure);
  REQUIRE_MESSAGE(!failures.empty(), s.nodes.describe(1));
  CHECK(failures.front().request == mqttsn::MsgType::connect);
  CHECK(failures.front().rc == ReturnCode::not_supported);
  CHECK(s.nodes.count(1, EventKind::connected) == 0);
  // The gateway holds one session only.
  const auto clients = s.gw.status("clients")["clients"];
  REQUIRE(clients.size() == 1);
  CHECK(clients[0]["client_id"] == "admitted");
  CHECK(s.counter("denied_connect") == 1);

  // Without anonymous access QoS -1 (no connection, so no client id) is refused too: the admitted
  // client's later publish arrives alone.
  REQUIRE(s.watcher.subscribe("zz", 0));
  s.nodes.act(1, [](NodeClient& n, Millis t) {
    n.publish(TopicRef::short_name("zz"), mqttsn::e2e::bytes_of("anonymous"), -1, false, t);
  });
  CHECK(s.nodes.publish(0, TopicRef::named("e2e/admitted"), "admitted", 1));
  REQUIRE(s.watcher.wait_for(1, 5s));
  CHECK(s.watcher.messages().size() == 1);
  CHECK(s.watcher.messages().front().payload == "admitted");
  CHECK(s.counter("denied_publish") == 1);

  // SIGHUP re-reads the admission list: the stranger is let in.
  s.gw.dir().write("clients", "admitted\nstranger\n");
  const auto log_at = s.gw.log().size();
  s.gw.signal(SIGHUP);
  REQUIRE_MESSAGE(s.gw.wait_log("reload: admission list", log_at), s.gw.log());
  CHECK_MESSAGE(s.nodes.connect(1), s.nodes.describe(1));
  CHECK(s.gw.status("clients")["clients"].size() == 2);
}

TEST_CASE("access: a publish outside the client's ACL is rejected and the broker sees nothing") {
  AccessSetup s("user admitted\ntopic write e2e/acl/ok/#\ntopic read e2e/acl/in/#\n",
                {node_config("admitted")});
  REQUIRE_MESSAGE(s.nodes.connect(0), s.nodes.describe(0));

  CHECK(s.nodes.publish(0, TopicRef::named("e2e/acl/ok/1"), "allowed-1", 1));
  s.expect_denied(0, "e2e/acl/secret", 1);
  s.expect_denied(0, "e2e/acl/secret", 2);
  s.expect_denied(0, "e2e/acl/in/x", 1);  // read access only
  CHECK(s.nodes.publish(0, TopicRef::named("e2e/acl/ok/2"), "allowed-2", 1));

  // Subscribing needs read.
  s.nodes.act(0, [](NodeClient& n, Millis t) { n.subscribe(TopicRef::named("e2e/acl/ok/#"), 1, t); });
  REQUIRE(s.nodes.run_until([&] { return s.nodes.node(0).idle(); }));
  CHECK(s.nodes.events(0).back().kind == EventKind::failure);
  CHECK(s.nodes.events(0).back().rc == ReturnCode::not_supported);
  s.nodes.act(0, [](NodeClient& n, Millis t) { n.subscribe(TopicRef::named("e2e/acl/in/#"), 1, t); });
  CHECK_MESSAGE(s.nodes.wait_event(0, EventKind::subscribed), s.nodes.describe(0));

  // The allowed messages arrived in order and nothing else did (the second one was published after
  // every denied one, over the same upstream connection).
  REQUIRE(s.watcher.wait_for(2, 5s));
  const auto seen = s.watcher.messages();
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].payload == "allowed-1");
  CHECK(seen[1].payload == "allowed-2");
  CHECK(s.counter("denied_publish") == 3);
}

TEST_CASE("access: SIGHUP applies a changed ACL to the live session, and a broken ACL keeps the old rules") {
  AccessSetup s("user admitted\ntopic write e2e/acl/a/#\n", {node_config("admitted")});
  REQUIRE_MESSAGE(s.nodes.connect(0), s.nodes.describe(0));
  CHECK(s.nodes.publish(0, TopicRef::named("e2e/acl/a/1"), "a-1", 1));
  s.expect_denied(0, "e2e/acl/b/1", 1);

  // Now b is allowed and a is not.
  s.gw.dir().write("acl", "user admitted\ntopic write e2e/acl/b/#\n");
  auto log_at = s.gw.log().size();
  s.gw.signal(SIGHUP);
  REQUIRE_MESSAGE(s.gw.wait_log("reload: admission list, ACL", log_at), s.gw.log());
  CHECK(s.nodes.publish(0, TopicRef::named("e2e/acl/b/1"), "b-1", 1));
  s.expect_denied(0, "e2e/acl/a/2", 1);

  // A broken file: the reload fails and the rules stay as they were.
  s.gw.dir().write("acl", "user admitted\ntopic write e2e/acl/a/#\nthis is not an acl line\n");
  log_at = s.gw.log().size();
  s.gw.signal(SIGHUP);
  REQUIRE_MESSAGE(s.gw.wait_log("reload failed", log_at), s.gw.log());
  CHECK(s.nodes.publish(0, TopicRef::named("e2e/acl/b/2"), "b-2", 1));
  s.expect_denied(0, "e2e/acl/a/3", 1);

  // One session all along: connected once, never dropped.
  CHECK(s.nodes.count(0, EventKind::connected) == 1);
  CHECK(s.nodes.count(0, EventKind::disconnected) == 0);
  const auto clients = s.gw.status("clients")["clients"];
  REQUIRE(clients.size() == 1);
  CHECK(clients[0]["state"] == "active");
  REQUIRE(s.watcher.wait_for(3, 5s));
  const auto seen = s.watcher.messages();
  REQUIRE(seen.size() == 3);
  CHECK(seen[0].payload == "a-1");
  CHECK(seen[1].payload == "b-1");
  CHECK(seen[2].payload == "b-2");
  CHECK(s.gw.running());
}
