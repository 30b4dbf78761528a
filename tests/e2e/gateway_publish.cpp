// Uplink through the real mqttsn-gw: a node connects, registers and publishes at QoS -1 (predefined
// id and short name, with no connection), 0, 1 and 2, over the XBee link (a simulated coordinator
// on a pty) and over UDP. A Paho subscriber on the broker must see exactly those messages, each with
// its topic, payload and QoS; a retained publish is retained at the broker.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <tuple>
#include <vector>

#include "e2e/e2e_config.hpp"
#include "e2e/e2e_nodes.hpp"
#include "e2e/gateway_process.hpp"
#include "support/mosquitto_broker.hpp"
#include "support/paho_test_client.hpp"

using namespace mqttsn::e2e;
using mqttsn::test::GatewayProcess;
using mqttsn::test::MosquittoBroker;
using mqttsn::test::PahoTestClient;
using mqttsn::test::ReceivedMessage;

namespace {

using Row = std::tuple<std::string, std::string, int, bool>;  // topic, payload, QoS, retained

std::vector<Row> rows(const std::vector<ReceivedMessage>& messages) {
  std::vector<Row> out;
  for (const auto& m : messages) out.emplace_back(m.topic, m.payload, m.qos, m.retained);
  std::sort(out.begin(), out.end());
  return out;
}

std::string show(const std::vector<Row>& rs) {
  std::string s;
  for (const auto& [t, p, q, r] : rs)
    s += "\n  " + t + " '" + p + "' qos " + std::to_string(q) + (r ? " retained" : "");
  return s;
}

enum class Via { udp, xbee };

// Node 0 connects and publishes; node 1 never connects and publishes at QoS -1.
void publish_flows(Via via) {
  const std::string L = via == Via::udp ? "udp" : "xbee";
  const std::string short_name = via == Via::udp ? "su" : "sx";
  MosquittoBroker broker;
  PahoTestClient sub(paho_options(broker.uri(), "e2e-sub-" + L));
  REQUIRE(sub.connect());
  REQUIRE(sub.subscribe("e2e/#", 2));
  REQUIRE(sub.subscribe(short_name, 2));

  GatewayToml cfg{.broker_uri = broker.uri(), .predefined_topics_file = "predefined.conf"};
  const std::uint16_t udp_port = free_udp_port();
  if (via == Via::udp)
    cfg.udp_port = udp_port;
  else {
    cfg.xbee_device = "{dir}/xbee";
    cfg.xbee_api_mode = 1;  // plain API frames here; the unplug test uses escaped ones
  }
  GatewayProcess gw(cfg.to_toml(), "e2e-pub-" + L);
  gw.dir().write("predefined.conf", "# id, topic\n5, e2e/" + L + "/predefined\n");

  NodeHarness nodes({node_config("pub-" + L), node_config("anon-" + L)});
  if (via == Via::udp)
    nodes.open_udp(udp_port);
  else
    nodes.open_xbee(gw.dir().file("xbee"), mqttsn::radio::xbee::ApiMode::unescaped);
  REQUIRE_MESSAGE(gw.start(), gw.log());
  REQUIRE_MESSAGE(gw.wait_upstream_connected(), gw.log());

  // QoS -1 needs no connection: a predefined id and a short name.
  nodes.act(1, [](NodeClient& n, mqttsn::Millis t) {
    n.publish(TopicRef::predefined(5), bytes_of("m1-predef"), -1, false, t);
  });
  nodes.act(1, [&](NodeClient& n, mqttsn::Millis t) {
    n.publish(TopicRef::short_name(short_name), bytes_of("m1-short"), -1, false, t);
  });
  CHECK(nodes.count(1, EventKind::published) == 2);
  REQUIRE_MESSAGE(sub.wait_for(2, std::chrono::seconds(5)), gw.log());

  REQUIRE_MESSAGE(nodes.connect(0), nodes.describe(0) << "\n" << gw.log());
  nodes.act(0, [&](NodeClient& n, mqttsn::Millis t) { n.register_topic("e2e/" + L + "/q1", t); });
  const auto reg = nodes.wait_event(0, EventKind::registered);
  REQUIRE_MESSAGE(reg, nodes.describe(0));
  CHECK(reg->topic == "e2e/" + L + "/q1");
  CHECK(reg->topic_id != 0);

  CHECK_MESSAGE(nodes.publish(0, TopicRef::named("e2e/" + L + "/q0"), "m0", 0), nodes.describe(0));
  CHECK_MESSAGE(nodes.publish(0, TopicRef::named("e2e/" + L + "/q1"), "m1", 1), nodes.describe(0));
  CHECK_MESSAGE(nodes.publish(0, TopicRef::named("e2e/" + L + "/q2"), "m2", 2), nodes.describe(0));
  CHECK_MESSAGE(nodes.publish(0, TopicRef::predefined(5), "m1-predef-connected", 1), nodes.describe(0));
  CHECK_MESSAGE(nodes.publish(0, TopicRef::short_name(short_name), "m2-short-connected", 2),
                nodes.describe(0));
  CHECK_MESSAGE(nodes.publish(0, TopicRef::named("e2e/" + L + "/retained"), "kept", 1, true),
                nodes.describe(0));
  CHECK(nodes.count(0, EventKind::failure) == 0);

  const std::vector<Row> expected = [&] {
    std::vector<Row> e{{"e2e/" + L + "/predefined", "m1-predef", 0, false},
                       {short_name, "m1-short", 0, false},
                       {"e2e/" + L + "/q0", "m0", 0, false},
                       {"e2e/" + L + "/q1", "m1", 1, false},
                       {"e2e/" + L + "/q2", "m2", 2, false},
                       {"e2e/" + L + "/predefined", "m1-predef-connected", 1, false},
                       {short_name, "m2-short-connected", 2, false},
                       {"e2e/" + L + "/retained", "kept", 1, false}};
    std::sort(e.begin(), e.end());
    return e;
  }();
  CHECK_MESSAGE(sub.wait_for(expected.size(), std::chrono::seconds(5)), show(rows(sub.messages())));
  // Exactly those, no duplicates (the last one was acknowledged end to end after the others).
  CHECK_MESSAGE(rows(sub.messages()) == expected,
                "got:" << show(rows(sub.messages())) << "\nexpected:" << show(expected));

  // The retain flag went up: a new subscription (on the same connection: a second Paho client
  // takes seconds to connect) gets the message as retained.
  sub.clear();
  REQUIRE(sub.subscribe("e2e/" + L + "/retained", 1));
  REQUIRE(
      sub.wait_until([](const auto& m) { return !m.empty() && m.back().retained; }, std::chrono::seconds(5)));
  CHECK(rows({sub.messages().back()}) == std::vector<Row>{{"e2e/" + L + "/retained", "kept", 1, true}});

  const auto stats = gw.status("stats");
  CHECK(stats["core"]["publishes_up"].get<int>() >= 6);
  CHECK(gw.running());
}

}  // namespace

TEST_CASE("UDP link: connect, register, publish at QoS -1, 0, 1, 2 reach the broker exactly") {
  publish_flows(Via::udp);
}

TEST_CASE(
    "XBee link (pty, API mode 1): connect, register, publish at QoS -1, 0, 1, 2 reach the broker exactly") {
  publish_flows(Via::xbee);
}
