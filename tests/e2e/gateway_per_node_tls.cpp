// Per-node upstream mode over TLS with a client certificate per node, through the real mqttsn-gw and
// a mosquitto whose TLS listener requires a certificate and takes its common name as the user name
// (`use_identity_as_username`): the way a broker with one identity per device is often secured. The
// broker's acl_file then holds one `user` block per device certificate.
#include <doctest/doctest.h>

#include <set>
#include <string>

#include "e2e/e2e_config.hpp"
#include "e2e/e2e_nodes.hpp"
#include "e2e/gateway_process.hpp"
#include "support/mosquitto_broker.hpp"
#include "support/paho_test_client.hpp"
#include "support/test_pki.hpp"

using namespace mqttsn::e2e;
using namespace std::chrono_literals;
using mqttsn::ReturnCode;
using mqttsn::test::GatewayProcess;
using mqttsn::test::make_client_cert;
using mqttsn::test::MosquittoBroker;
using mqttsn::test::MosquittoOptions;
using mqttsn::test::PahoTestClient;

namespace {

MosquittoOptions certificate_broker() {
  MosquittoOptions o;
  o.tls = true;
  o.allow_anonymous = false;
  o.users = {{"watcher", "w-secret"}};  // on the plain listener
  o.tls_listener_config = "require_certificate true\nuse_identity_as_username true";
  o.acl =
      "user gw\ntopic readwrite mqttsn-gw/#\n"
      "user watcher\ntopic read #\ntopic write e2e/#\n"
      "user node-a\ntopic readwrite e2e/a/#\n"
      "user node-b\ntopic readwrite e2e/b/#\n";
  return o;
}

struct CertificateSetup {
  MosquittoBroker broker{certificate_broker()};
  PahoTestClient watcher;
  std::uint16_t port = free_udp_port();
  GatewayProcess gw;
  NodeHarness nodes;

  explicit CertificateSetup(std::vector<mqttsn::sim::NodeConfig> node_configs)
      : watcher([&] {
          auto o = paho_options(broker.uri(), "e2e-pernode-tls-watcher");
          o.username = "watcher";
          o.password = "w-secret";
          return o;
        }()),
        gw(toml(broker), "e2e-pernode-tls"),
        nodes(std::move(node_configs)) {
    REQUIRE(watcher.connect());
    REQUIRE(watcher.subscribe("e2e/#", 1));
    const auto& dir = broker.dir();
    for (const char* name : {"node-a", "node-b"}) make_client_cert(dir, broker.pki(), name);
    make_client_cert(dir, broker.pki(), "node-x", /*signed_by_other_ca=*/true);
    // One pattern line for the devices with a certificate each, named by client id.
    gw.dir().write("node-credentials", "node-x  cert_file=" + dir.file("client-node-x-other-ca.crt") +
                                           " key_file=" + dir.file("client-node-x-other-ca.key") +
                                           "\n"
                                           "node-m  cert_file=no-such.crt key_file=no-such.key\n"
                                           "%c      cert_file=" +
                                           dir.file("client-%c.crt") +
                                           " key_file=" + dir.file("client-%c.key") + "\n");
    nodes.open_udp(port);
    REQUIRE_MESSAGE(gw.start(), gw.log());
    REQUIRE_MESSAGE(gw.wait_upstream_connected(), gw.log() << "\n" << broker.log());
  }

  std::string toml(const MosquittoBroker& b) {
    const auto gw_cert = make_client_cert(b.dir(), b.pki(), "gw");
    return GatewayToml{.broker_uri = b.tls_uri(),
                       .udp_port = port,
                       .store = false,
                       .upstream_extra = "mode = \"per_node\"\ncredentials_file = \"node-credentials\"\n",
                       .extra = "[upstream.tls]\nca_file = \"" + b.pki().ca_cert + "\"\ncert_file = \"" +
                                gw_cert.cert + "\"\nkey_file = \"" + gw_cert.key + "\"\n"}
        .to_toml();
  }
};

}  // namespace

TEST_CASE("per-node TLS: each node connects with its own certificate and the broker names it by it") {
  CertificateSetup s({node_config("node-a"), node_config("node-b")});
  REQUIRE_MESSAGE(s.nodes.connect(0), s.nodes.describe(0) << "\n" << s.gw.log());
  REQUIRE_MESSAGE(s.nodes.connect(1), s.nodes.describe(1) << "\n" << s.gw.log());
  CHECK(s.nodes.publish(0, TopicRef::named("e2e/a/temp"), "from-a", 1));
  CHECK(s.nodes.publish(1, TopicRef::named("e2e/b/temp"), "from-b", 1));
  REQUIRE_MESSAGE(s.watcher.wait_for(2, 5s), s.gw.log());

  // The broker's ACL for node-b (its certificate's name) keeps it out of node-a's topics: mosquitto
  // drops the message and node-b's connection, and nothing from it arrives there.
  const auto log_at = s.gw.log().size();
  s.nodes.publish(1, TopicRef::named("e2e/a/forged"), "b-in-a", 1);
  REQUIRE_MESSAGE(s.gw.wait_log("node node-b connected to the broker", log_at, 10s), s.gw.log());
  std::set<std::string> seen;
  for (const auto& m : s.watcher.messages()) seen.insert(m.topic + "=" + m.payload);
  CHECK(seen == std::set<std::string>{"e2e/a/temp=from-a", "e2e/b/temp=from-b"});

  // Downlink on the node's own certificate connection.
  s.nodes.act(0, [](NodeClient& n, mqttsn::Millis t) { n.subscribe(TopicRef::named("e2e/a/cmd"), 1, t); });
  REQUIRE_MESSAGE(s.nodes.wait_event(0, EventKind::subscribed), s.nodes.describe(0) << "\n" << s.gw.log());
  REQUIRE(s.watcher.publish("e2e/a/cmd", "on", 1, false, 5000ms));
  REQUIRE_MESSAGE(s.nodes.wait_event(0, EventKind::message), s.nodes.describe(0) << "\n" << s.gw.log());

  const auto clients = s.gw.status("clients")["clients"];
  REQUIRE(clients.size() == 2);
  for (const auto& c : clients) {
    CHECK(c["upstream"] == "connected");
    const std::string cert = c["broker_cert"].get<std::string>();
    CHECK(cert.find("client-" + c["client_id"].get<std::string>() + ".crt") != std::string::npos);
  }
}

TEST_CASE("per-node TLS: a certificate the broker's CA did not sign is refused at CONNECT") {
  CertificateSetup s({node_config("node-x")});
  // Not "congestion": the node would retry for ever with a certificate that cannot work.
  CHECK_MESSAGE(s.nodes.connect_refused(0) == ReturnCode::not_supported, s.nodes.describe(0));
  CHECK_MESSAGE(s.gw.wait_log("node node-x refused: TLS handshake failed"), s.gw.log());
  CHECK(s.gw.status("clients")["clients"].empty());
}

TEST_CASE("per-node TLS: a certificate file that cannot be read is named in the refusal") {
  CertificateSetup s({node_config("node-m")});
  CHECK_MESSAGE(s.nodes.connect_refused(0) == ReturnCode::not_supported, s.nodes.describe(0));
  CHECK_MESSAGE(s.gw.wait_log("node node-m refused: cannot read "), s.gw.log());
  CHECK_MESSAGE(s.gw.log().find("no-such.crt") != std::string::npos, s.gw.log());
}
