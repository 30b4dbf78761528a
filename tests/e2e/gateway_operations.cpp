// The nodes as the broker sees them ([operations]): each node's retained availability through every
// way a node comes and goes, its description matching the status socket, the summary, and the
// request topics (refused when off, each verb when on). Real mosquitto, real gateway, UDP nodes.
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
using mqttsn::test::GatewayProcess;
using mqttsn::test::MosquittoBroker;
using mqttsn::test::PahoTestClient;
using mqttsn::test::ReceivedMessage;

namespace {

const std::string kBase = "ops/gw";

std::string operations(bool requests, const std::string& more = "") {
  return "[operations]\nbase_topic = \"" + kBase +
         "\"\ndocument_interval = \"1s\"\nsummary_interval = \"1s\"\nrequests = " +
         (requests ? "true" : "false") + "\n" + more;
}

// Watches everything under the base topic, as a dashboard would.
struct Dashboard {
  explicit Dashboard(const MosquittoBroker& broker, const std::string& id = "e2e-ops-dashboard")
      : client(paho_options(broker.uri(), id)) {
    REQUIRE(client.connect());
    REQUIRE(client.subscribe(kBase + "/#", 1));
  }
  // The last payload seen on `topic` (nullopt: none yet).
  static std::optional<std::string> last_in(const std::vector<ReceivedMessage>& ms,
                                            const std::string& topic) {
    std::optional<std::string> out;
    for (const auto& m : ms)
      if (m.topic == topic) out = m.payload;
    return out;
  }
  std::optional<std::string> last(const std::string& topic) const {
    return last_in(client.messages(), topic);
  }
  static nlohmann::json document_in(const std::vector<ReceivedMessage>& ms, const std::string& id) {
    const auto text = last_in(ms, kBase + "/nodes/" + id);
    return text ? nlohmann::json::parse(*text, nullptr, false) : nlohmann::json();
  }
  // Waits until `pred(messages)` holds (the predicate must not call back into the client).
  bool wait(const std::function<bool(const std::vector<ReceivedMessage>&)>& pred,
            Millis timeout = Millis(8000)) {
    return client.wait_until(pred, timeout);
  }
  bool wait_value(const std::string& topic, const std::string& value, Millis timeout = Millis(8000)) {
    return wait([&](const auto& ms) { return last_in(ms, topic) == value; }, timeout);
  }
  nlohmann::json document(const std::string& id) const { return document_in(client.messages(), id); }
  std::string dump() const {
    std::string out;
    for (const auto& m : client.messages()) out += m.topic + " = " + m.payload + "\n";
    return out;
  }
  PahoTestClient client;
};

std::string availability(const std::string& id) {
  return kBase + "/nodes/" + id + "/availability";
}

}  // namespace

TEST_CASE("availability follows CONNECT, sleep, DISCONNECT, lost, kick and expiry, and the documents match") {
  MosquittoBroker broker;
  Dashboard dash(broker);
  const std::uint16_t port = free_udp_port();
  GatewayToml cfg{.broker_uri = broker.uri(), .udp_port = port, .session_expiry = "4s"};
  cfg.extra = operations(false);
  GatewayProcess gw(cfg.to_toml(), "e2e-ops");
  auto kept = node_config("kept");
  kept.clean_session = false;
  NodeHarness nodes({node_config("plain"), kept, node_config("silent", 1)});
  nodes.open_udp(port);
  REQUIRE_MESSAGE(gw.start(), gw.log());
  REQUIRE_MESSAGE(gw.wait_upstream_connected(), gw.log());

  // CONNECT: online, and a description that says what the status socket says.
  REQUIRE(nodes.connect(0));
  REQUIRE(nodes.connect(1));
  nodes.act(1, [](NodeClient& n, Millis t) { n.register_topic("ops/e2e/kept", t); });
  nodes.act(1, [](NodeClient& n, Millis t) { n.subscribe(TopicRef::named("ops/e2e/cmd"), 1, t); });
  REQUIRE(nodes.wait_idle(1));
  REQUIRE_MESSAGE(dash.wait_value(availability("plain"), "online"), dash.dump());
  REQUIRE_MESSAGE(dash.wait_value(availability("kept"), "online"), dash.dump());
  REQUIRE_MESSAGE(dash.wait(
                      [&](const auto& ms) {
                        const auto doc = Dashboard::document_in(ms, "kept");
                        return doc.is_object() && doc["subscriptions"].size() == 1;
                      },
                      Millis(8000)),
                  dash.dump());
  const auto doc = dash.document("kept");
  const auto clients = gw.status("clients")["clients"];
  for (const auto& c : clients) {
    if (c["client_id"] != "kept") continue;
    CHECK(doc["link"]["address"] == c["address"]);
    CHECK(doc["link"]["name"] == c["link"]);
    CHECK(doc["state"] == c["state"]);
    CHECK(doc["keep_alive_s"] == c["keep_alive"]);
    CHECK(doc["clean_session"] == false);
  }
  // Its registration and the topic id of its subscription, as `topics` lists them.
  const auto topics = gw.status("topics kept")["topics"];
  REQUIRE(topics.size() == 2);
  REQUIRE(doc["topics"].size() == 2);
  for (std::size_t i = 0; i < 2; ++i) {
    CHECK(doc["topics"][i]["id"] == topics[i]["topic_id"]);
    CHECK(doc["topics"][i]["topic"] == topics[i]["topic"]);
  }
  CHECK(doc["topics"][0]["topic"] == "ops/e2e/kept");
  CHECK(doc["subscriptions"][0]["filter"] == "ops/e2e/cmd");
  // The status socket's `node` is the same document.
  const auto node = gw.status("node kept");
  CHECK(node["node"]["topics"] == doc["topics"]);

  // Sleep: asleep. A clean DISCONNECT: offline, and the node's short description says so.
  nodes.act(1, [](NodeClient& n, Millis t) { n.sleep(60, t); });
  CHECK_MESSAGE(dash.wait_value(availability("kept"), "asleep"), dash.dump());
  nodes.act(0, [](NodeClient& n, Millis t) { n.disconnect(t); });
  CHECK_MESSAGE(dash.wait_value(availability("plain"), "offline"), dash.dump());
  CHECK(dash.wait(
      [&](const auto& ms) { return Dashboard::document_in(ms, "plain").value("session", true) == false; }));

  // A node that goes silent: lost after 1.5 x its keep-alive.
  REQUIRE(nodes.connect(2));
  REQUIRE(dash.wait_value(availability("silent"), "online"));
  nodes.mute(2);
  CHECK_MESSAGE(dash.wait_value(availability("silent"), "lost"), dash.dump());
  nodes.mute(2, false);

  // The operator's kick: the sleeping kept node is disconnected, its session stays (offline)...
  const auto kick = gw.gwctl({"kick", "kept"});
  CHECK(kick.exit_status == 0);
  CHECK_MESSAGE(dash.wait_value(availability("kept"), "offline"), dash.dump());
  CHECK(gw.gwctl({"kick", "nobody"}).exit_status == 1);
  // The summary lists every node it knows with its availability.
  auto summary_is = [&](const nlohmann::json& expected) {
    return dash.wait([&](const auto& ms) {
      const auto text = Dashboard::last_in(ms, kBase + "/nodes");
      return text && nlohmann::json::parse(*text, nullptr, false)["nodes"] == expected;
    });
  };
  CHECK_MESSAGE(summary_is({{"kept", "offline"}, {"plain", "offline"}, {"silent", "lost"}}), dash.dump());
  // session_expiry later the kept session is removed, and the nodes whose clean sessions ended are
  // forgotten as long after they left: every topic is cleared (an empty retained message).
  for (const char* id : {"kept", "plain", "silent"}) {
    CHECK_MESSAGE(dash.wait_value(availability(id), "", Millis(10000)), dash.dump());
    CHECK_MESSAGE(dash.wait_value(kBase + "/nodes/" + id, ""), dash.dump());
  }
  CHECK_MESSAGE(summary_is(nlohmann::json::object()), dash.dump());
  const auto stats = gw.status("stats")["operations"];
  CHECK(stats["base_topic"] == kBase);
  CHECK(stats["availability_published"].get<int>() >= 7);
  CHECK(stats["nodes_cleared"] == 3);
}

TEST_CASE(
    "after a restart the kept sessions' availability is told again, and nodes whose clean session ended are "
    "offline") {
  MosquittoBroker broker;
  const std::uint16_t port = free_udp_port();
  GatewayToml cfg{.broker_uri = broker.uri(), .udp_port = port};
  cfg.extra = operations(false);
  GatewayProcess gw(cfg.to_toml(), "e2e-ops-restart");
  auto kept = node_config("sleeper");
  kept.clean_session = false;
  NodeHarness nodes({node_config("clean"), kept});
  nodes.open_udp(port);
  REQUIRE_MESSAGE(gw.start(), gw.log());
  REQUIRE(gw.wait_upstream_connected());
  REQUIRE(nodes.connect(0));
  REQUIRE(nodes.connect(1));
  nodes.act(1, [](NodeClient& n, Millis t) { n.sleep(600, t); });
  {
    Dashboard dash(broker, "e2e-ops-before");
    REQUIRE_MESSAGE(dash.wait_value(availability("clean"), "online"), dash.dump());
    REQUIRE_MESSAGE(dash.wait_value(availability("sleeper"), "asleep"), dash.dump());
  }
  // A crash: nothing is said, the retained "online" is stale.
  gw.kill_hard();
  // The broker forgets nothing retained; clear the sleeper's so that only the gateway can set it again.
  PahoTestClient clearer(paho_options(broker.uri(), "e2e-ops-clearer"));
  REQUIRE(clearer.connect());
  REQUIRE(clearer.publish(availability("sleeper"), "", 1, true));
  Dashboard dash(broker, "e2e-ops-after");
  REQUIRE_MESSAGE(gw.start(), gw.log());
  // The kept session came back from the store, still asleep; the clean one did not survive.
  CHECK_MESSAGE(dash.wait_value(availability("sleeper"), "asleep"), dash.dump() << gw.log());
  CHECK_MESSAGE(dash.wait_value(availability("clean"), "offline"), dash.dump() << gw.log());
  CHECK(gw.status("stats")["operations"]["availability_read_back"].get<int>() >= 1);
}

TEST_CASE("requests: not answered when off, each verb answered with its correlation id when on") {
  MosquittoBroker broker;
  const std::uint16_t port = free_udp_port();
  PahoTestClient op(paho_options(broker.uri(), "e2e-ops-operator"));
  REQUIRE(op.connect());
  REQUIRE(op.subscribe(kBase + "/response/#", 1));
  auto ask = [&](const std::string& verb, const std::string& body) -> nlohmann::json {
    op.clear();
    if (!op.publish(kBase + "/request/" + verb, body, 1, false)) return {};
    if (!op.wait_for(1, Millis(5000))) return {};
    const auto m = op.messages().front();
    CHECK(m.topic == kBase + "/response/" + verb);
    return nlohmann::json::parse(m.payload, nullptr, false);
  };

  SUBCASE("off by default: nobody answers") {
    GatewayToml cfg{.broker_uri = broker.uri(), .udp_port = port};
    cfg.extra = operations(false);
    GatewayProcess gw(cfg.to_toml(), "e2e-ops-off");
    REQUIRE_MESSAGE(gw.start(), gw.log());
    REQUIRE(gw.wait_upstream_connected());
    REQUIRE(op.publish(kBase + "/request/list", "{}", 1, false));
    CHECK_FALSE(op.wait_for(1, Millis(1500)));
  }

  SUBCASE("on") {
    GatewayToml cfg{
        .broker_uri = broker.uri(), .udp_port = port, .predefined_topics_file = "predefined.conf"};
    cfg.extra = operations(true);
    GatewayProcess gw(cfg.to_toml(), "e2e-ops-on");
    gw.dir().write("predefined.conf", "1, ops/e2e/pre\n");
    // A retained request left on the broker would run at every reconnect: the gateway ignores it.
    REQUIRE(op.publish(kBase + "/request/reload", "{\"correlation_id\":\"stale\"}", 1, true));
    NodeHarness nodes({node_config("n1"), node_config("n2")});
    nodes.open_udp(port);
    REQUIRE_MESSAGE(gw.start(), gw.log());
    REQUIRE(gw.wait_upstream_connected());
    REQUIRE(nodes.connect(0));
    REQUIRE(nodes.connect(1));
    nodes.act(1, [](NodeClient& n, Millis t) { n.subscribe(TopicRef::named("ops/e2e/n2"), 1, t); });
    REQUIRE(nodes.wait_idle(1));
    // The gateway's request subscription is made once the broker connection is up: wait for it.
    bool answered = false;
    for (int attempt = 0; attempt < 25 && !answered; ++attempt) {
      REQUIRE(op.publish(kBase + "/request/list", "{}", 1, false));
      answered = op.wait_for(1, Millis(300));
    }
    REQUIRE(answered);

    auto r = ask("list", "{\"correlation_id\": 42}");
    CHECK(r["correlation_id"] == 42);
    CHECK(r["ok"] == true);
    CHECK(r["nodes"].size() == 2);

    r = ask("node", "{\"client_id\":\"n2\",\"correlation_id\":\"a\"}");
    CHECK(r["ok"] == true);
    CHECK(r["node"]["subscriptions"][0]["filter"] == "ops/e2e/n2");

    // clear_buffer: n2 asleep with two messages waiting.
    nodes.act(1, [](NodeClient& n, Millis t) { n.sleep(600, t); });
    REQUIRE(gw.wait_status("clients", [](const nlohmann::json& j) {
      for (const auto& c : j["clients"])
        if (c["client_id"] == "n2") return c["state"] == "asleep";
      return false;
    }));
    REQUIRE(op.publish("ops/e2e/n2", "1", 1, false));
    REQUIRE(op.publish("ops/e2e/n2", "2", 1, false));
    REQUIRE(gw.wait_status("clients", [](const nlohmann::json& j) {
      for (const auto& c : j["clients"])
        if (c["client_id"] == "n2") return c["buffered"] == 2;
      return false;
    }));
    r = ask("clear_buffer", "{\"client_id\":\"n2\"}");
    CHECK(r["ok"] == true);
    CHECK(r["dropped"] == 2);
    CHECK(gw.status("stats")["core"]["dropped_by_operator"] == 2);

    // kick: n1 is told DISCONNECT.
    r = ask("kick", "{\"client_id\":\"n1\"}");
    CHECK(r["ok"] == true);
    CHECK(nodes.wait_event(0, EventKind::disconnected));
    r = ask("kick", "{\"client_id\":\"n1\"}");
    CHECK(r["ok"] == false);
    CHECK(r["error"].get<std::string>().find("n1") != std::string::npos);

    // Predefined topics: added and removed until the next reload.
    r = ask("add_predefined", "{\"topic_id\": 7, \"topic\": \"ops/e2e/seven\"}");
    CHECK(r["ok"] == true);
    auto has_seven = [&] {
      const auto topics = gw.status("topics");
      for (const auto& t : topics["topics"])
        if (t["topic_id"] == 7 && t["topic"] == "ops/e2e/seven") return true;
      return false;
    };
    CHECK(has_seven());
    CHECK(ask("add_predefined", "{\"topic_id\": 1, \"topic\": \"ops/e2e/other\"}")["ok"] == false);  // taken
    CHECK(ask("add_predefined", "{\"topic_id\": 8, \"topic\": \"ops/+\"}")["ok"] == false);  // a filter
    CHECK(ask("remove_predefined", "{\"topic_id\": 1}")["ok"] == true);
    CHECK(ask("remove_predefined", "{\"topic_id\": 1}")["ok"] == false);
    r = ask("reload", "{}");
    CHECK(r["ok"] == true);
    CHECK_FALSE(has_seven());  // the file is the rule again
    bool has_one = false;
    const auto after_reload = gw.status("topics");
    for (const auto& t : after_reload["topics"]) has_one |= t["topic_id"] == 1;
    CHECK(has_one);

    // Bad requests get a precise answer; a retained request is never run.
    r = ask("list", "not json");
    CHECK(r["ok"] == false);
    r = ask("explode", "{}");
    CHECK(r["ok"] == false);
    CHECK(r["error"].get<std::string>().find("unknown request") != std::string::npos);
    REQUIRE(op.publish(kBase + "/request/reload", "", 1, true));  // clear the retained request
    const auto all = op.messages();
    for (const auto& m : all) CHECK(m.payload.find("stale") == std::string::npos);
    CHECK(gw.status("stats")["operations"]["requests_ignored"].get<int>() >= 2);
    CHECK(gw.log().find("retained") != std::string::npos);
  }
}
