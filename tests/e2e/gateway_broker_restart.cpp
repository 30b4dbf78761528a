// The broker restarts in the middle of a QoS 1 stream from a node, through the real mqttsn-gw: every
// message the gateway acknowledged to the node must reach a persistent QoS 1 subscriber (clean
// session false, so the broker keeps its queue across its own restart and the subscriber's absence).
#include <doctest/doctest.h>

#include <set>
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
using mqttsn::test::MosquittoOptions;
using mqttsn::test::PahoTestClient;

TEST_CASE("broker restart in the middle of a QoS 1 stream: every message acknowledged to the node arrives") {
  MosquittoOptions bo;
  bo.persistence = true;
  MosquittoBroker broker(bo);
  auto so = paho_options(broker.uri(), "e2e-persistent-sub", false);
  so.auto_reconnect = true;
  PahoTestClient sub(so);
  REQUIRE(sub.connect());
  REQUIRE(sub.subscribe("e2e/stream/#", 1));

  const std::uint16_t port = free_udp_port();
  GatewayProcess gw(GatewayToml{.broker_uri = broker.uri(), .udp_port = port}.to_toml(), "e2e-restart");
  auto nc = node_config("streamer");
  nc.n_retry = 5;  // 2 s x 5: rides out the restart without giving up
  NodeHarness nodes({nc});
  nodes.open_udp(port);
  REQUIRE_MESSAGE(gw.start(), gw.log());
  REQUIRE_MESSAGE(gw.wait_upstream_connected(), gw.log());
  REQUIRE_MESSAGE(nodes.connect(0), nodes.describe(0));

  constexpr int kBefore = 10, kDuring = 10, kAfter = 10;
  auto publish = [&](int k) {
    nodes.act(0, [k](NodeClient& n, Millis t) {
      n.publish(TopicRef::named("e2e/stream/n"), bytes_of("m" + std::to_string(k)), 1, false, t);
    });
  };

  for (int k = 0; k < kBefore; ++k)
    CHECK_MESSAGE(nodes.publish(0, TopicRef::named("e2e/stream/n"), "m" + std::to_string(k), 1),
                  nodes.describe(0));

  // The broker goes away with one publish in flight and more queued behind it on the node.
  publish(kBefore);
  broker.stop();
  for (int k = kBefore + 1; k < kBefore + kDuring; ++k) publish(k);
  REQUIRE_MESSAGE(nodes.run_until([&] { return gw.status("stats")["upstream"]["state"] != "connected"; }, 5s),
                  gw.log());
  // The stream goes on into the gateway while the broker is away: it holds the messages.
  REQUIRE_MESSAGE(
      nodes.run_until([&] { return gw.status("stats")["upstream"]["queue_messages"].get<int>() > 0; }, 5s),
      gw.status("stats").dump());
  broker.start();
  REQUIRE_MESSAGE(nodes.run_until([&] { return nodes.node(0).idle(); }, 20s), nodes.describe(0) << "\n"
                                                                                                << gw.log());

  for (int k = kBefore + kDuring; k < kBefore + kDuring + kAfter; ++k)
    CHECK_MESSAGE(nodes.publish(0, TopicRef::named("e2e/stream/n"), "m" + std::to_string(k), 1),
                  nodes.describe(0));

  // Which publishes were acknowledged: each request ends in `published` or a publish failure, in
  // request order (the node keeps one request outstanding).
  std::set<std::string> acked;
  int k = 0;
  for (const auto& e : nodes.events(0)) {
    if (e.kind == EventKind::published)
      acked.insert("m" + std::to_string(k++));
    else if (e.kind == EventKind::failure && e.request == mqttsn::MsgType::publish)
      ++k;
  }
  CHECK_MESSAGE(k == kBefore + kDuring + kAfter, nodes.describe(0) << gw.log());
  // Before and after the outage nothing may fail.
  for (int i = 0; i < kBefore; ++i) CHECK(acked.count("m" + std::to_string(i)) == 1);
  for (int i = kBefore + kDuring; i < k; ++i) CHECK(acked.count("m" + std::to_string(i)) == 1);
  MESSAGE("acknowledged to the node: " << acked.size() << " of " << k);

  std::string missing;
  for (const auto& m : sub.wait_for_payloads(acked, 15s)) missing += " " + m;
  CHECK_MESSAGE(missing.empty(), "acknowledged but never delivered:" << missing << "\n" << gw.log());
  for (const auto& m : sub.messages()) CHECK(m.topic == "e2e/stream/n");
  CHECK(gw.running());
}
