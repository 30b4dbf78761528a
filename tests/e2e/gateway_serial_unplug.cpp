// The serial device disappears and comes back while the real mqttsn-gw runs: the simulated XBee
// coordinator's pty is closed (the gateway reads a hang-up, as when a USB adapter is pulled) and a
// new one appears at the same symlink path. The gateway must not exit, must count the unplug, reopen
// the device, and carry the node's traffic again.
#include <doctest/doctest.h>

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
using mqttsn::test::PahoTestClient;

namespace {

nlohmann::json xbee_link_in(const nlohmann::json& stats) {
  if (stats.is_object())
    for (const auto& l : stats["links"])
      if (l["name"] == "xbee") return l;
  return nullptr;
}

nlohmann::json xbee_link(const GatewayProcess& gw) {
  return xbee_link_in(gw.status("stats"));
}

}  // namespace

TEST_CASE("XBee pty unplugged and plugged back: the gateway counts it, reopens, and traffic resumes") {
  MosquittoBroker broker;
  PahoTestClient sub(paho_options(broker.uri(), "e2e-unplug-sub"));
  REQUIRE(sub.connect());
  REQUIRE(sub.subscribe("e2e/serial/#", 1));

  GatewayToml cfg{.broker_uri = broker.uri(), .xbee_device = "{dir}/xbee", .xbee_api_mode = 2};
  GatewayProcess gw(cfg.to_toml(), "e2e-unplug");
  NodeHarness nodes({node_config("wired")});
  const std::string link = gw.dir().file("xbee");
  nodes.open_xbee(link);
  REQUIRE_MESSAGE(gw.start(), gw.log());
  REQUIRE_MESSAGE(gw.wait_upstream_connected(), gw.log());
  REQUIRE_MESSAGE(nodes.connect(0), nodes.describe(0) << "\n" << gw.log());
  CHECK(nodes.publish(0, TopicRef::named("e2e/serial/before"), "before", 1));

  nodes.close_transport();
  const bool unplugged = gw.wait_status(
      "stats",
      [](const nlohmann::json& stats) {
        const auto l = xbee_link_in(stats);
        return !l.is_null() && l["counters"]["unplugs"] == 1 && l["up"] == false;
      },
      5s);
  REQUIRE_MESSAGE(unplugged, xbee_link(gw).dump() << "\n" << gw.log());
  CHECK(gw.running());

  nodes.open_xbee(link);
  const bool reopened = gw.wait_status(
      "stats",
      [](const nlohmann::json& stats) {
        const auto l = xbee_link_in(stats);
        return !l.is_null() && l["up"] == true && l["counters"]["opens"].get<int>() >= 2;
      },
      10s);
  REQUIRE_MESSAGE(reopened, xbee_link(gw).dump() << "\n" << gw.log());

  // The session survived: the node publishes at once, without connecting again.
  CHECK_MESSAGE(nodes.publish(0, TopicRef::named("e2e/serial/after"), "after", 1, false, 10s),
                nodes.describe(0) << "\n"
                                  << gw.log());
  REQUIRE_MESSAGE(sub.wait_for(2, 5s), "got " << sub.count() << "\n" << gw.log());
  CHECK(sub.messages()[0].payload == "before");
  CHECK(sub.messages()[1].payload == "after");
  CHECK(nodes.count(0, EventKind::connected) == 1);
  CHECK(gw.running());
  CHECK(xbee_link(gw)["counters"]["unplugs"] == 1);
}
