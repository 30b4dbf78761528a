// The SQLite store through the real mqttsn-gw, with real kills: what a node was told is delivered
// (PUBACK, PUBCOMP) reaches a persistent subscriber on mosquitto across a SIGKILL in the middle of a
// stream, a kept session's topic ids, subscriptions and sleeping buffer survive a restart, a broker
// outage spanning two gateway restarts loses nothing and keeps each node's order, a damaged database
// is moved aside and the gateway serves anyway, and mqttsn-gwctl shows the store.
#include <doctest/doctest.h>
#include <signal.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <random>
#include <set>
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
using mqttsn::test::ReceivedMessage;
namespace fs = std::filesystem;

namespace {

std::string stream_topic(const std::string& prefix, std::size_t node) {
  return prefix + "/" + std::to_string(node);
}

// Stream nodes: kept sessions (CleanSession=0) so their topic ids survive the kill, and enough
// retransmissions to ride out a restart.
std::vector<NodeConfig> stream_nodes(const std::string& tag, std::size_t n) {
  std::vector<NodeConfig> out;
  for (std::size_t i = 0; i < n; ++i) {
    auto c = node_config(tag + "-" + std::to_string(i));
    c.clean_session = false;
    c.t_retry = Millis(2000);  // a slow (sanitized, loaded) commit must not look like a lost PUBLISH
    c.n_retry = 15;
    out.push_back(std::move(c));
  }
  return out;
}

bool all_connected(const NodeHarness& nodes) {
  for (std::size_t i = 0; i < nodes.size(); ++i)
    if (nodes.count(i, EventKind::connected) == 0) return false;
  return true;
}

bool all_idle(NodeHarness& nodes) {
  for (std::size_t i = 0; i < nodes.size(); ++i)
    if (!nodes.node(i).idle()) return false;
  return true;
}

std::size_t total(const NodeHarness& nodes, EventKind kind) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < nodes.size(); ++i) n += nodes.count(i, kind);
  return n;
}

// Queues `each` publishes per node; payload = sequence number, topic per node.
void queue_stream(NodeHarness& nodes, const std::string& prefix, int each, mqttsn::QoS qos) {
  for (std::size_t i = 0; i < nodes.size(); ++i)
    nodes.act(i, [&](NodeClient& n, Millis t) {
      for (int k = 0; k < each; ++k)
        n.publish(TopicRef::named(stream_topic(prefix, i)), bytes_of(std::to_string(k)), qos, false, t);
    });
}

// Which of node i's publishes were acknowledged: each request ends in `published` or a publish
// failure, in request order (a node keeps one request outstanding).
std::vector<bool> acked_of(const NodeHarness& nodes, std::size_t i, int each) {
  std::vector<bool> acked(static_cast<std::size_t>(each), false);
  std::size_t k = 0;
  for (const auto& e : nodes.events(i)) {
    if (k >= acked.size()) break;
    if (e.kind == EventKind::published)
      acked[k++] = true;
    else if (e.kind == EventKind::failure && e.request == mqttsn::MsgType::publish)
      ++k;
  }
  return acked;
}

struct Tally {
  std::size_t acked = 0;
  std::size_t received = 0;  // messages on the stream's topics, duplicates included
  std::size_t lost = 0;      // acknowledged to the node, never arrived
  std::size_t duplicates = 0;
  std::size_t unacked_arrived = 0;  // arrived without the node hearing an ack (allowed)
  std::size_t out_of_order = 0;     // a first arrival below an earlier first arrival on its topic
  std::string missing;              // the first few lost ones, "topic:seq"
};

Tally tally(const NodeHarness& nodes, const std::string& prefix, int each,
            const std::vector<ReceivedMessage>& got) {
  std::map<std::string, std::vector<int>> seqs;
  for (const auto& m : got)
    if (m.topic.rfind(prefix + "/", 0) == 0) seqs[m.topic].push_back(std::stoi(m.payload));
  Tally t;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const auto acked = acked_of(nodes, i, each);
    std::vector<int> count(acked.size(), 0);
    int last_first = -1;
    for (int s : seqs[stream_topic(prefix, i)]) {
      ++t.received;
      if (s < 0 || s >= each) continue;
      if (count[static_cast<std::size_t>(s)]++ > 0) {
        ++t.duplicates;
        continue;
      }
      if (s < last_first) ++t.out_of_order;
      last_first = std::max(last_first, s);
    }
    for (std::size_t k = 0; k < acked.size(); ++k) {
      if (acked[k]) ++t.acked;
      if (acked[k] && count[k] == 0) {
        if (++t.lost <= 20) t.missing += " " + stream_topic(prefix, i) + ":" + std::to_string(k);
      }
      if (!acked[k] && count[k] > 0) ++t.unacked_arrived;
    }
  }
  return t;
}

// Waits until the gateway holds no uplink row (the broker acknowledged everything) and the
// subscriber's count has stopped growing and covers what was acknowledged.
void settle(GatewayProcess& gw, PahoTestClient& sub, std::size_t acked, std::chrono::seconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  gw.wait_status(
      "store", [](const nlohmann::json& j) { return j["store"]["uplink_queued"] == 0; },
      std::chrono::duration_cast<std::chrono::milliseconds>(timeout));
  sub.wait_for(
      acked, std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()));
  for (std::size_t before = sub.count(); std::chrono::steady_clock::now() < until;) {
    std::this_thread::sleep_for(500ms);
    const std::size_t now = sub.count();
    if (now == before) break;
    before = now;
  }
}

// N in the restart's "N message(s) queued for the broker" line.
std::size_t restored_messages(const std::string& log, std::size_t from) {
  const std::string key = "kept session(s) restored, ";
  const auto at = log.find(key, from);
  return at == std::string::npos ? 0 : std::stoul(log.substr(at + key.size()));
}

// N in the restart's "N QoS 2 exchange(s) resumed" line.
std::size_t resumed_exchanges(const std::string& log, std::size_t from) {
  const std::string key = "queued for the broker, ";
  const auto at = log.find(key, from);
  return at == std::string::npos ? 0 : std::stoul(log.substr(at + key.size()));
}

std::string log_line(const std::string& log, const std::string& needle, std::size_t from = 0) {
  const auto at = log.find(needle, from);
  if (at == std::string::npos) return "(no line with '" + needle + "')";
  const auto begin = log.rfind('\n', at);
  const auto end = log.find('\n', at);
  return log.substr(
      begin == std::string::npos ? 0 : begin + 1,
      end == std::string::npos ? std::string::npos : end - (begin == std::string::npos ? 0 : begin + 1));
}

// A SIGKILL in the middle of a stream of `each` QoS `qos` publishes from each of `node_count` nodes.
// `session_lost`: the gateway comes back under another upstream client id, so the broker has no
// session for it (as after a broker that lost its state): Paho drops the QoS 2 exchanges it resumed,
// and the gateway must publish those messages again.
void kill_mid_stream(mqttsn::QoS qos, std::size_t node_count, int each, bool session_lost = false) {
  const std::string prefix = "e2e/store/q" + std::to_string(qos);
  // A stock mosquitto (max_inflight_messages 20: it refuses a 21st unreleased QoS 2 PUBLISH).
  MosquittoBroker broker;
  PahoTestClient sub(paho_options(broker.uri(), "e2e-store-sub-q" + std::to_string(qos), false));
  REQUIRE(sub.connect());
  REQUIRE(sub.subscribe(prefix + "/#", qos));

  const std::uint16_t port = free_udp_port();
  GatewayProcess gw(GatewayToml{.broker_uri = broker.uri(), .udp_port = port}.to_toml(), "e2e-store-kill");
  NodeHarness nodes(stream_nodes("kill-q" + std::to_string(qos), node_count));
  nodes.open_udp(port);
  REQUIRE_MESSAGE(gw.start(), tail(gw.log(), 4000));
  REQUIRE_MESSAGE(gw.wait_upstream_connected(), tail(gw.log(), 4000));
  for (std::size_t i = 0; i < nodes.size(); ++i) nodes.act(i, [](NodeClient& n, Millis t) { n.connect(t); });
  REQUIRE_MESSAGE(nodes.run_until([&] { return all_connected(nodes); }), tail(nodes.describe(0), 3000)
                                                                             << tail(gw.log(), 3000));

  const auto started = std::chrono::steady_clock::now();
  const std::size_t n_total = node_count * static_cast<std::size_t>(each);
  queue_stream(nodes, prefix, each, qos);
  REQUIRE_MESSAGE(nodes.run_until([&] { return total(nodes, EventKind::published) >= n_total / 3; }, 60s),
                  tail(nodes.describe(0), 3000) << tail(gw.log(), 3000));
  if (qos == 2) {
    // The hard case: the kill lands while QoS 2 exchanges with the broker are under way (PUBLISH or
    // PUBREL sent, PUBCOMP not received), which only Paho can finish under the same packet ids. The
    // broker is frozen while they are, so that the kill cannot miss them.
    bool under_way = false;
    for (int attempt = 0; attempt < 50 && !under_way; ++attempt) {
      gw.wait_status(
          "store", [](const nlohmann::json& j) { return j["store"]["upstream_records"] > 0; }, 5s, 1ms);
      broker.pause();
      std::this_thread::sleep_for(50ms);  // what was on its way to the gateway has arrived
      under_way = gw.status("store")["store"]["upstream_records"].get<std::size_t>() > 0;
      if (!under_way) broker.resume();
    }
    CHECK_MESSAGE(under_way, gw.status("store").dump());
  }
  const auto store_before = gw.status("store");
  const std::size_t acked_at_kill = total(nodes, EventKind::published);
  gw.kill_hard();
  broker.resume();
  if (session_lost) {
    std::ifstream in(gw.config_path());
    std::string cfg((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string id = GatewayToml{}.upstream_client_id;
    REQUIRE(cfg.find(id) != std::string::npos);
    cfg.replace(cfg.find(id), id.size(), id + "-new");
    std::ofstream(gw.config_path()) << cfg;
  }
  const auto log_before = gw.log().size();
  REQUIRE_MESSAGE(gw.start(), tail(gw.log(), 4000));
  const auto restored = gw.wait_log("kept session(s) restored", log_before);
  CHECK_MESSAGE(restored, gw.log().substr(log_before));
  REQUIRE_MESSAGE(nodes.run_until([&] { return all_idle(nodes); }, 120s), tail(nodes.describe(0), 3000)
                                                                              << tail(gw.log(), 3000));
  const auto stream_time = std::chrono::steady_clock::now() - started;

  const std::size_t failures = total(nodes, EventKind::failure);
  CHECK_MESSAGE(failures == 0, nodes.describe(0));
  settle(gw, sub, total(nodes, EventKind::published), 30s);
  const Tally t = tally(nodes, prefix, each, sub.messages());
  MESSAGE("QoS " << int(qos) << ": " << node_count << " nodes x " << each << " = " << n_total
                 << " publishes in "
                 << std::chrono::duration_cast<std::chrono::milliseconds>(stream_time).count()
                 << " ms; SIGKILL after " << acked_at_kill
                 << " acks (store then: " << store_before["store"].dump() << "); acknowledged " << t.acked
                 << ", node failures " << failures << ", received " << t.received << ", lost " << t.lost
                 << ", duplicates " << t.duplicates << ", arrived unacknowledged " << t.unacked_arrived
                 << "; restart: " << log_line(gw.log(), "kept session(s) restored", log_before));
  CHECK(t.acked == n_total);
  CHECK_MESSAGE(t.lost == 0, "acknowledged to a node, not delivered within 30 s:"
                                 << t.missing << "\nstore: " << gw.status("store").dump()
                                 << "\nupstream: " << gw.status("stats")["upstream"].dump() << "\nmosquitto: "
                                 << tail(broker.log(), 3000) << "\ngateway: " << tail(gw.log(), 3000));
  const std::size_t kept_rows = restored_messages(gw.log(), log_before);
  if (session_lost) {
    // The broker had no session: what Paho resumed was dropped and published again from the store.
    const std::size_t resumed = resumed_exchanges(gw.log(), log_before);
    const auto abandoned = gw.status("store")["store"]["abandoned_by_paho"].get<std::size_t>();
    MESSAGE("duplicates " << t.duplicates << "; " << resumed << " exchanges resumed, " << abandoned
                          << " dropped by Paho with the session and published again");
    CHECK(resumed > 0);
    CHECK(abandoned == resumed);
    CHECK(t.duplicates <= resumed);  // the old session may still release what it had received
  } else if (qos == 2) {
    // Exactly once: the exchanges under way were resumed by Paho under their packet ids (the
    // broker's kept session recognises them), the rest had never left the gateway.
    const std::size_t resumed = resumed_exchanges(gw.log(), log_before);
    MESSAGE("duplicates " << t.duplicates << "; " << kept_rows << " kept rows published again, " << resumed
                          << " QoS 2 exchanges resumed by Paho");
    CHECK(resumed > 0);
    CHECK(t.duplicates == 0);
  } else {
    // Only what was in the store at the kill can go upstream twice: a QoS 1 row is published again
    // under a new packet id (durable_stage.hpp), even when the broker had it. A node may also resend
    // a message that was made durable but whose PUBACK the kill swallowed: one per node.
    const std::size_t window = kept_rows + node_count;
    MESSAGE("duplicates " << t.duplicates << ", window " << window << " (" << kept_rows << " kept rows)");
    CHECK(t.duplicates <= window);
  }
  CHECK(gw.running());
}

// A mosquitto that keeps sessions across its own stop and start, and a subscriber with a kept
// session on `filter` (QoS 1) that reconnects by itself: what the gateway delivers around a broker
// outage is all counted.
struct KeptBrokerAndSubscriber {
  KeptBrokerAndSubscriber(const std::string& subscriber_id, const std::string& filter)
      : broker(kept_sessions()), sub(reconnecting(broker.uri(), subscriber_id)) {
    REQUIRE(sub.connect());
    REQUIRE(sub.subscribe(filter, 1));
  }
  static MosquittoOptions kept_sessions() {
    MosquittoOptions o;
    o.persistence = true;
    return o;
  }
  static mqttsn::test::TestClientOptions reconnecting(const std::string& uri, const std::string& id) {
    auto o = paho_options(uri, id, false);
    o.auto_reconnect = true;
    return o;
  }
  MosquittoBroker broker;
  PahoTestClient sub;
};

void connect_all(NodeHarness& nodes, GatewayProcess& gw) {
  for (std::size_t i = 0; i < nodes.size(); ++i) nodes.act(i, [](NodeClient& n, Millis t) { n.connect(t); });
  REQUIRE_MESSAGE(nodes.run_until([&] { return all_connected(nodes); }), nodes.describe(0)
                                                                             << tail(gw.log(), 3000));
}

// A kept session across a stop by `signum`: old topic ids work, and what was published to the
// node's subscription while the gateway was down reaches it.
void kept_session_across(int signum) {
  MosquittoBroker broker;
  PahoTestClient watcher(paho_options(broker.uri(), "e2e-kept-watcher"));
  REQUIRE(watcher.connect());
  REQUIRE(watcher.subscribe("e2e/kept/up/#", 1));
  PahoTestClient commander(paho_options(broker.uri(), "e2e-kept-commander"));
  REQUIRE(commander.connect());

  const std::uint16_t port = free_udp_port();
  GatewayProcess gw(GatewayToml{.broker_uri = broker.uri(), .udp_port = port}.to_toml(), "e2e-store-kept");
  auto nc = node_config("keeper");
  nc.clean_session = false;
  NodeHarness nodes({nc});
  nodes.open_udp(port);
  REQUIRE_MESSAGE(gw.start(), tail(gw.log(), 4000));
  REQUIRE_MESSAGE(gw.wait_upstream_connected(), tail(gw.log(), 4000));
  REQUIRE_MESSAGE(nodes.connect(0), nodes.describe(0));

  const std::vector<std::string> topics{"e2e/kept/up/a", "e2e/kept/up/b"};
  for (const auto& topic : topics) {
    nodes.act(0, [&](NodeClient& n, Millis t) { n.register_topic(topic, t); });
    REQUIRE_MESSAGE(nodes.wait_event(0, EventKind::registered), nodes.describe(0));
  }
  nodes.act(0, [](NodeClient& n, Millis t) { n.subscribe(TopicRef::named("e2e/kept/cmd"), 1, t); });
  REQUIRE_MESSAGE(nodes.wait_event(0, EventKind::subscribed), nodes.describe(0));
  REQUIRE(gw.wait_subscribed_upstream("e2e/kept/cmd"));
  REQUIRE(gw.wait_status("store", [](const nlohmann::json& j) { return j["store"]["sessions_kept"] == 1; }));
  const auto ids_before = std::vector<std::optional<std::uint16_t>>{nodes.node(0).topic_id(topics[0]),
                                                                    nodes.node(0).topic_id(topics[1])};
  const std::size_t registered_before = nodes.count(0, EventKind::registered);

  if (signum == SIGKILL) {
    gw.kill_hard();
  } else {
    gw.signal(signum);
    REQUIRE_MESSAGE(gw.wait_exit(10s) == 0, tail(gw.log(), 4000));
  }
  const std::vector<std::string> while_down{"d1", "d2", "d3"};
  for (const auto& p : while_down) REQUIRE(commander.publish("e2e/kept/cmd", p, 1, false));
  const auto log_before = gw.log().size();
  REQUIRE_MESSAGE(gw.start(), tail(gw.log(), 4000));
  CHECK_MESSAGE(gw.wait_log("1 kept session(s) restored", log_before), gw.log().substr(log_before));

  // What the broker kept for the gateway's session reaches the node, in order.
  REQUIRE_MESSAGE(
      nodes.run_until([&] { return nodes.count(0, EventKind::message) >= while_down.size(); }, 10s),
      nodes.describe(0) << "\n"
                        << gw.log().substr(log_before));
  std::vector<std::string> got;
  for (const auto& e : nodes.events(0, EventKind::message)) {
    CHECK(e.topic == "e2e/kept/cmd");
    got.push_back(text_of(e.payload));
  }
  CHECK(got == while_down);

  // The old ids, no REGISTER: the node's client still holds them and the gateway restored them.
  for (std::size_t k = 0; k < topics.size(); ++k) {
    CHECK(nodes.node(0).topic_id(topics[k]) == ids_before[k]);
    CHECK_MESSAGE(nodes.publish(0, TopicRef::named(topics[k]), "after-" + std::to_string(k), 1),
                  nodes.describe(0) << gw.log().substr(log_before));
  }
  CHECK(nodes.count(0, EventKind::registered) == registered_before);
  REQUIRE_MESSAGE(watcher.wait_for(2, 5s), gw.log().substr(log_before));
  const auto up = watcher.messages();
  CHECK(up[0].topic == topics[0]);
  CHECK(up[0].payload == "after-0");
  CHECK(up[1].topic == topics[1]);
  CHECK(up[1].payload == "after-1");

  // The subscription itself still works after the restart.
  REQUIRE(commander.publish("e2e/kept/cmd", "live", 1, false));
  REQUIRE_MESSAGE(nodes.run_until([&] { return nodes.count(0, EventKind::message) > while_down.size(); }, 5s),
                  nodes.describe(0));
  CHECK(text_of(nodes.events(0, EventKind::message).back().payload) == "live");
  CHECK(nodes.count(0, EventKind::failure) == 0);
  CHECK(nodes.count(0, EventKind::message) == while_down.size() + 1);
}

}  // namespace

// 10 nodes x 1,000: a stream long enough that the kill lands with thousands of readings on each side.
TEST_CASE("store: SIGKILL in the middle of a 10,000-message QoS 1 stream loses nothing acknowledged") {
  kill_mid_stream(1, 10, 1000);
}

TEST_CASE("store: SIGKILL in the middle of a QoS 2 stream: every message arrives exactly once") {
  kill_mid_stream(2, 10, 500);
}

TEST_CASE(
    "store: QoS 2 exchanges resumed after a SIGKILL are published again when the broker lost the session") {
  kill_mid_stream(2, 10, 500, true);
}

TEST_CASE("store: a kept session survives SIGTERM - old topic ids work, messages sent meanwhile arrive") {
  kept_session_across(SIGTERM);
}

TEST_CASE("store: a kept session survives SIGKILL - old topic ids work, messages sent meanwhile arrive") {
  kept_session_across(SIGKILL);
}

TEST_CASE("store: a sleeping node's buffer survives SIGKILL and is delivered in order when it wakes") {
  MosquittoBroker broker;
  PahoTestClient commander(paho_options(broker.uri(), "e2e-store-sleep-commander"));
  REQUIRE(commander.connect());

  const std::uint16_t port = free_udp_port();
  GatewayProcess gw(GatewayToml{.broker_uri = broker.uri(), .udp_port = port}.to_toml(), "e2e-store-sleep");
  NodeHarness nodes({node_config("dozer", 10)});
  nodes.open_udp(port);
  REQUIRE_MESSAGE(gw.start(), tail(gw.log(), 4000));
  REQUIRE_MESSAGE(gw.wait_upstream_connected(), tail(gw.log(), 4000));
  REQUIRE_MESSAGE(nodes.connect(0), nodes.describe(0));
  nodes.act(0, [](NodeClient& n, Millis t) { n.subscribe(TopicRef::named("e2e/dozer/cmd"), 1, t); });
  REQUIRE_MESSAGE(nodes.wait_event(0, EventKind::subscribed), nodes.describe(0));
  nodes.act(0, [](NodeClient& n, Millis t) { n.sleep(120, t); });
  REQUIRE_MESSAGE(nodes.wait_event(0, EventKind::asleep), nodes.describe(0));
  REQUIRE(gw.wait_status("clients", [](const nlohmann::json& j) {
    return !j["clients"].empty() && j["clients"][0]["state"] == "asleep";
  }));

  const std::vector<std::string> sent{"s1", "s2", "s3", "s4", "s5"};
  for (const auto& p : sent) REQUIRE(commander.publish("e2e/dozer/cmd", p, 1, false));
  REQUIRE_MESSAGE(gw.wait_status("clients",
                                 [&](const nlohmann::json& j) {
                                   return j["clients"][0]["buffered"].get<std::size_t>() == sent.size();
                                 }),
                  gw.status("clients").dump());
  // The turn that buffered the last one also wrote the snapshot; a status answer comes a turn later.
  const auto store_before = gw.status("store");
  CHECK(store_before["store"]["downlink_queued"] == sent.size());
  gw.kill_hard();
  const auto log_before = gw.log().size();
  REQUIRE_MESSAGE(gw.start(), tail(gw.log(), 4000));
  REQUIRE_MESSAGE(gw.wait_upstream_connected(), tail(gw.log(), 4000));
  const auto clients = gw.status("clients");
  CHECK_MESSAGE(clients["clients"].size() == 1, clients.dump());
  if (clients["clients"].size() == 1) {
    CHECK(clients["clients"][0]["state"] == "asleep");
    CHECK(clients["clients"][0]["buffered"] == sent.size());
  }
  CHECK(nodes.count(0, EventKind::message) == 0);

  nodes.act(0, [](NodeClient& n, Millis t) { n.wake(t); });
  REQUIRE_MESSAGE(nodes.wait_event(0, EventKind::awake_done, 10s), nodes.describe(0)
                                                                       << gw.log().substr(log_before));
  std::vector<std::string> got;
  std::size_t last_message = 0, awake_at = 0;
  const auto& ev = nodes.events(0);
  for (std::size_t k = 0; k < ev.size(); ++k) {
    if (ev[k].kind == EventKind::message) {
      got.push_back(text_of(ev[k].payload));
      last_message = k;
    }
    if (ev[k].kind == EventKind::awake_done) awake_at = k;
  }
  CHECK(got == sent);
  CHECK(last_message < awake_at);
  CHECK(nodes.count(0, EventKind::failure) == 0);
  CHECK(gw.status("clients")["clients"][0]["buffered"] == 0);
}

TEST_CASE(
    "store: 5,000 QoS 1 readings while the broker is down and the gateway restarts twice all arrive in "
    "order") {
  constexpr std::size_t kNodes = 5;
  constexpr int kEach = 1000;
  const std::string prefix = "e2e/outage";
  KeptBrokerAndSubscriber kept("e2e-outage-sub", prefix + "/#");
  auto& broker = kept.broker;
  auto& sub = kept.sub;

  const std::uint16_t port = free_udp_port();
  GatewayToml cfg{.broker_uri = broker.uri(), .udp_port = port};
  // The default uplink bound (10,000 messages, store table and bridge queue alike) holds 5,000
  // readings plus what a SIGKILL makes a node send twice.
  GatewayProcess gw(cfg.to_toml(), "e2e-store-outage");
  NodeHarness nodes(stream_nodes("outage", kNodes));
  nodes.open_udp(port);
  REQUIRE_MESSAGE(gw.start(), tail(gw.log(), 4000));
  REQUIRE_MESSAGE(gw.wait_upstream_connected(), tail(gw.log(), 4000));
  connect_all(nodes, gw);
  broker.stop();
  REQUIRE(
      gw.wait_status("stats", [](const nlohmann::json& j) { return j["upstream"]["state"] != "connected"; }));

  const auto started = std::chrono::steady_clock::now();
  queue_stream(nodes, prefix, kEach, 1);
  const std::size_t n_total = kNodes * kEach;
  auto run_to = [&](std::size_t acks) {
    REQUIRE_MESSAGE(nodes.run_until([&] { return total(nodes, EventKind::published) >= acks; }, 60s),
                    tail(nodes.describe(0), 3000) << tail(gw.log(), 3000) << "\n"
                                                  << gw.status("store").dump());
  };
  run_to(n_total / 3);
  const auto queued_1 = gw.status("store")["store"]["uplink_queued"];
  gw.kill_hard();
  REQUIRE_MESSAGE(gw.start(), tail(gw.log(), 4000));
  run_to(2 * n_total / 3);
  const auto queued_2 = gw.status("store")["store"]["uplink_queued"];
  gw.signal(SIGTERM);
  // The broker is away: the shutdown grace runs out with messages unacknowledged, which stay in the store.
  REQUIRE_MESSAGE(gw.wait_exit(15s) == 0, tail(gw.log(), 4000));
  REQUIRE_MESSAGE(gw.start(), tail(gw.log(), 4000));
  REQUIRE_MESSAGE(nodes.run_until([&] { return all_idle(nodes); }, 120s), tail(nodes.describe(0), 3000)
                                                                              << tail(gw.log(), 3000));
  const auto queued_3 = gw.status("store");
  const auto stream_time = std::chrono::steady_clock::now() - started;
  CHECK(total(nodes, EventKind::failure) == 0);
  CHECK_MESSAGE(sub.count() == 0, "the broker was down: nothing can have arrived yet");
  // Every acknowledged reading is in the store (a retransmission after the SIGKILL may be in it twice).
  CHECK(queued_3["store"]["uplink_queued"].get<std::size_t>() >= total(nodes, EventKind::published));

  const auto back = std::chrono::steady_clock::now();
  broker.start();
  settle(gw, sub, n_total, 60s);
  const auto drain_time = std::chrono::steady_clock::now() - back;
  const Tally t = tally(nodes, prefix, kEach, sub.messages());
  MESSAGE("outage: " << n_total << " QoS 1 readings from " << kNodes << " nodes in "
                     << std::chrono::duration_cast<std::chrono::milliseconds>(stream_time).count()
                     << " ms across SIGKILL (store held " << queued_1 << ") and SIGTERM (held " << queued_2
                     << "); store before the broker came back: " << queued_3["store"].dump()
                     << "; drained in "
                     << std::chrono::duration_cast<std::chrono::milliseconds>(drain_time).count()
                     << " ms; acknowledged " << t.acked << ", received " << t.received << ", lost " << t.lost
                     << ", duplicates " << t.duplicates << ", out of order " << t.out_of_order);
  CHECK(t.acked == n_total);
  CHECK_MESSAGE(t.lost == 0, "acknowledged but never delivered:" << t.missing);
  CHECK(t.out_of_order == 0);
}

namespace {

// The gateway finds `damage` done to a database that held a kept session.
void damaged_database(const std::function<void(const std::string&)>& damage, const std::string& what) {
  MosquittoBroker broker;
  PahoTestClient watcher(paho_options(broker.uri(), "e2e-damage-watcher"));
  REQUIRE(watcher.connect());
  REQUIRE(watcher.subscribe("e2e/damage/#", 1));

  const std::uint16_t port = free_udp_port();
  GatewayProcess gw(GatewayToml{.broker_uri = broker.uri(), .udp_port = port}.to_toml(), "e2e-store-damage");
  const std::string db = gw.dir().file("state.db");
  {
    // A real database with content first: a kept session with a topic and a subscription.
    auto nc = node_config("before");
    nc.clean_session = false;
    NodeHarness nodes({nc});
    nodes.open_udp(port);
    REQUIRE_MESSAGE(gw.start(), tail(gw.log(), 4000));
    REQUIRE_MESSAGE(nodes.connect(0), nodes.describe(0));
    nodes.act(0, [](NodeClient& n, Millis t) { n.subscribe(TopicRef::named("e2e/damage/cmd"), 1, t); });
    REQUIRE_MESSAGE(nodes.wait_event(0, EventKind::subscribed), nodes.describe(0));
    REQUIRE(
        gw.wait_status("store", [](const nlohmann::json& j) { return j["store"]["sessions_kept"] == 1; }));
    gw.signal(SIGTERM);
    REQUIRE(gw.wait_exit(10s) == 0);
  }
  REQUIRE(fs::exists(db));
  const auto size_before = fs::file_size(db);
  damage(db);
  MESSAGE(what << ": " << size_before << " bytes before, " << fs::file_size(db) << " after");

  const auto log_before = gw.log().size();
  REQUIRE_MESSAGE(gw.start(), tail(gw.log(), 4000));
  const auto said = gw.wait_log("moved to", log_before);
  CHECK_MESSAGE(said, gw.log().substr(log_before));
  MESSAGE("the gateway said: " << log_line(gw.log(), "moved to", log_before));
  std::vector<fs::path> aside;
  for (const auto& e : fs::directory_iterator(gw.dir().path()))
    if (e.path().filename().string().rfind("state.db.corrupt-", 0) == 0) aside.push_back(e.path());
  CHECK_MESSAGE(!aside.empty(), "no state.db.corrupt-* in " << gw.dir().path());

  const auto st = gw.status("store")["store"];
  CHECK(st["state"] == "ok");
  CHECK(st.contains("problem"));
  CHECK(st.value("problem", "").find("moved to") != std::string::npos);
  CHECK(st["sessions_kept"] == 0);  // nothing invented
  MESSAGE("store status: " << st.dump());

  // It serves: a new node with a kept session connects and publishes QoS 1, and its session is
  // written to the new file.
  REQUIRE_MESSAGE(gw.wait_upstream_connected(), tail(gw.log(), 4000));
  auto after = node_config("after");
  after.clean_session = false;
  NodeHarness nodes({after});
  nodes.open_udp(port);
  REQUIRE_MESSAGE(nodes.connect(0), nodes.describe(0) << gw.log());
  REQUIRE_MESSAGE(nodes.publish(0, TopicRef::named("e2e/damage/up"), "served", 1), nodes.describe(0));
  REQUIRE_MESSAGE(watcher.wait_for(1, 5s), tail(gw.log(), 4000));
  CHECK(watcher.messages().front().topic == "e2e/damage/up");
  CHECK(watcher.messages().front().payload == "served");
  CHECK(gw.wait_status("store", [](const nlohmann::json& j) { return j["store"]["commits"] > 0; }));
  CHECK(gw.status("store")["store"]["sessions_kept"] == 1);
}

}  // namespace

TEST_CASE("store: a database truncated to half is moved aside, the gateway says so and serves") {
  damaged_database([](const std::string& db) { fs::resize_file(db, fs::file_size(db) / 2); },
                   "truncated to half");
}

TEST_CASE("store: a database filled with garbage is moved aside, the gateway says so and serves") {
  damaged_database(
      [](const std::string& db) {
        const auto size = fs::file_size(db);
        std::mt19937 rng(8);
        std::string junk(size, '\0');
        for (auto& c : junk) c = static_cast<char>(rng() & 0xFF);
        std::ofstream(db, std::ios::binary | std::ios::trunc) << junk;
      },
      "overwritten with random bytes");
}

TEST_CASE("store: mqttsn-gwctl store shows kept sessions, queued messages and the file size") {
  MosquittoBroker broker;
  const std::uint16_t port = free_udp_port();
  GatewayProcess gw(GatewayToml{.broker_uri = broker.uri(), .udp_port = port}.to_toml(), "e2e-store-gwctl");
  auto kept = node_config("ctl-kept");
  kept.clean_session = false;
  NodeHarness nodes({kept, node_config("ctl-clean")});
  nodes.open_udp(port);
  REQUIRE_MESSAGE(gw.start(), tail(gw.log(), 4000));
  REQUIRE_MESSAGE(gw.wait_upstream_connected(), tail(gw.log(), 4000));
  REQUIRE_MESSAGE(nodes.connect(0), nodes.describe(0));
  REQUIRE_MESSAGE(nodes.connect(1), nodes.describe(1));
  REQUIRE_MESSAGE(nodes.publish(0, TopicRef::named("e2e/ctl/a"), "x", 1), nodes.describe(0));

  // With the broker away, QoS 1 readings wait in the store.
  broker.stop();
  REQUIRE(
      gw.wait_status("stats", [](const nlohmann::json& j) { return j["upstream"]["state"] != "connected"; }));
  for (int k = 0; k < 3; ++k)
    REQUIRE_MESSAGE(nodes.publish(1, TopicRef::named("e2e/ctl/b"), "q" + std::to_string(k), 1),
                    nodes.describe(1));

  const auto st = gw.status("store")["store"];
  CHECK(st["sessions_kept"] == 1);
  CHECK(st["uplink_queued"] == 3);
  CHECK(st["file_bytes"].get<std::uint64_t>() > 0);

  const auto out = gw.gwctl({"store"});
  REQUIRE(out.exit_status == 0);
  MESSAGE("mqttsn-gwctl store:\n" << out.out);
  auto line_of = [&](const std::string& key) { return log_line(out.out, "store." + key + " "); };
  CHECK(line_of("state") == "store.state  ok");
  CHECK(line_of("path") == "store.path  " + gw.dir().file("state.db"));
  CHECK(line_of("sessions_kept") == "store.sessions_kept  1");
  CHECK(line_of("uplink_queued") == "store.uplink_queued  3");
  const auto size_line = line_of("file_bytes");
  CHECK_MESSAGE(size_line.rfind("store.file_bytes  ", 0) == 0, out.out);
  CHECK(std::strtoull(size_line.c_str() + std::string("store.file_bytes  ").size(), nullptr, 10) > 0);
  CHECK(out.out.find("store.downlink_queued") != std::string::npos);

  const auto json = gw.gwctl({"store", "--json"});
  REQUIRE(json.exit_status == 0);
  const auto doc = nlohmann::json::parse(json.out, nullptr, false);
  REQUIRE(!doc.is_discarded());
  CHECK(doc["store"]["uplink_queued"] == 3);
  CHECK(doc["store"]["sessions_kept"] == 1);

  // The broker back: the queue drains and the store says so.
  broker.start();
  CHECK(gw.wait_status(
      "store", [](const nlohmann::json& j) { return j["store"]["uplink_queued"] == 0; }, 10s));
  CHECK(log_line(gw.gwctl({"store"}).out, "store.uplink_queued ") == "store.uplink_queued  0");
}

TEST_CASE("store: a kept session whose node stays away past session_expiry leaves the store") {
  MosquittoBroker broker;
  const std::uint16_t port = free_udp_port();
  GatewayProcess gw(
      GatewayToml{.broker_uri = broker.uri(), .udp_port = port, .session_expiry = "2s"}.to_toml(),
      "e2e-store-expiry");
  auto kept = node_config("exp-kept");
  kept.clean_session = false;
  NodeHarness nodes({kept});
  nodes.open_udp(port);
  REQUIRE_MESSAGE(gw.start(), tail(gw.log(), 4000));
  REQUIRE_MESSAGE(gw.wait_upstream_connected(), tail(gw.log(), 4000));
  REQUIRE_MESSAGE(nodes.connect(0), nodes.describe(0));
  nodes.act(0, [](NodeClient& n, Millis t) { n.subscribe(TopicRef::named("e2e/expiry/cmd"), 1, t); });
  REQUIRE_MESSAGE(nodes.wait_event(0, EventKind::subscribed), nodes.describe(0));
  nodes.act(0, [](NodeClient& n, Millis t) { n.disconnect(t); });
  REQUIRE_MESSAGE(nodes.wait_event(0, EventKind::disconnected), nodes.describe(0));

  // Kept while it is away, with the time it has left in the client list.
  REQUIRE(gw.wait_status("store", [](const nlohmann::json& j) { return j["store"]["sessions_kept"] == 1; }));
  const auto clients = gw.status("clients")["clients"];
  REQUIRE(clients.size() == 1);
  CHECK(clients[0]["state"] == "disconnected");
  CHECK(clients[0]["expires_in_s"].is_number());
  CHECK(clients[0]["expires_in_s"].get<int>() <= 2);

  // Two seconds later it is gone: from the core, its subscription, and the store's rows.
  CHECK_MESSAGE(gw.wait_status(
                    "store", [](const nlohmann::json& j) { return j["store"]["sessions_kept"] == 0; }, 10s),
                tail(gw.log(), 3000));
  CHECK(gw.status("stats")["core"].value("sessions_expired", std::uint64_t{0}) == 1);
  CHECK(gw.status("clients")["clients"].empty());
  CHECK(gw.status("subscriptions")["subscriptions"].empty());
  CHECK_MESSAGE(gw.log().find("client exp-kept expired") != std::string::npos, tail(gw.log(), 3000));

  // What a restart finds in the file: nothing to restore.
  gw.signal(SIGTERM);
  REQUIRE_MESSAGE(gw.wait_exit(15s) == 0, tail(gw.log(), 4000));
  REQUIRE_MESSAGE(gw.start(), tail(gw.log(), 4000));
  CHECK(gw.status("stats")["core"].value("sessions_restored", std::uint64_t{0}) == 0);
  CHECK(gw.status("clients")["clients"].empty());
}

namespace {

std::uint64_t store_field(const GatewayProcess& gw, const char* key) {
  const auto j = gw.status("store");
  return j["store"].contains(key) ? j["store"][key].get<std::uint64_t>() : 0;
}

// Publishes `each` QoS 1 readings from every node, one outstanding per node, and waits for them all.
void stream_and_wait(NodeHarness& nodes, GatewayProcess& gw, const std::string& prefix, int each) {
  const std::size_t before = total(nodes, EventKind::published);
  queue_stream(nodes, prefix, each, 1);
  const std::size_t want = before + nodes.size() * static_cast<std::size_t>(each);
  REQUIRE_MESSAGE(nodes.run_until([&] { return total(nodes, EventKind::published) >= want; }, 60s),
                  tail(nodes.describe(0), 3000) << tail(gw.log(), 3000) << gw.status("store").dump());
}

}  // namespace

// Write-behind on an SD card: every sync of the store's files is made 20 ms slow (the VFS's test
// knob), and the store's counters say what was written.
TEST_CASE(
    "store: write-behind writes nothing for readings the broker takes in time, and all while it is away") {
  const std::string prefix = "e2e/wb";
  KeptBrokerAndSubscriber kept("e2e-wb-sub", prefix + "/#");
  auto& broker = kept.broker;
  auto& sub = kept.sub;

  const std::uint16_t port = free_udp_port();
  GatewayToml cfg{.broker_uri = broker.uri(), .udp_port = port};
  cfg.store_extra = "flush_interval = \"200ms\"\n";
  GatewayProcess gw(cfg.to_toml(), "e2e-store-wb");
  gw.set_env("MQTTSN_STORE_SYNC_DELAY_MS", "20");
  auto node_cfgs = stream_nodes("wb", 5);
  for (auto& c : node_cfgs) c.clean_session = true;  // no session to keep: only readings can write
  NodeHarness nodes(node_cfgs);
  nodes.open_udp(port);
  REQUIRE_MESSAGE(gw.start(), tail(gw.log(), 4000));
  REQUIRE_MESSAGE(gw.wait_upstream_connected(), tail(gw.log(), 4000));
  connect_all(nodes, gw);

  // Broker healthy: 250 readings, each acknowledged by the broker within the flush interval.
  const auto commits_0 = store_field(gw, "commits");
  const auto syncs_0 = store_field(gw, "syncs");
  stream_and_wait(nodes, gw, prefix + "/healthy", 50);
  const auto healthy = gw.status("store")["store"];
  MESSAGE("broker healthy: " << healthy.dump());
  CHECK(healthy["uplink_written"] == 0);
  CHECK(healthy["uplink_acked_unwritten"].get<std::uint64_t>() == 250);
  CHECK(healthy["commits"].get<std::uint64_t>() == commits_0);
  CHECK(store_field(gw, "syncs") == syncs_0);

  // Broker stopped: every reading is written, in batches, and each node still hears its PUBACK.
  broker.stop();
  REQUIRE(
      gw.wait_status("stats", [](const nlohmann::json& j) { return j["upstream"]["state"] != "connected"; }));
  const auto commits_1 = store_field(gw, "commits");
  stream_and_wait(nodes, gw, prefix + "/away", 20);
  const auto away = gw.status("store")["store"];
  MESSAGE("broker away: " << away.dump());
  CHECK(away["uplink_queued"].get<std::uint64_t>() == 100);
  CHECK(away["uplink_written"].get<std::uint64_t>() == 100);
  // One node's readings follow each other (one outstanding), so a flush holds about one per node.
  CHECK(away["commits"].get<std::uint64_t>() - commits_1 <= 100);

  // Broker back: all delivered, the rows go in batches, not a commit each.
  const auto commits_2 = store_field(gw, "commits");
  broker.start();
  settle(gw, sub, 350, 30s);
  const auto back = gw.status("store")["store"];
  MESSAGE("broker back: " << back.dump());
  CHECK(back["uplink_queued"] == 0);
  CHECK(back["commits"].get<std::uint64_t>() - commits_2 < 20);
  const auto got = sub.messages();
  const Tally t = tally(nodes, prefix + "/healthy", 50, got);
  CHECK(t.acked == 250);
  CHECK_MESSAGE(t.lost == 0, t.missing);
  std::set<std::string> away_seen;
  for (const auto& m : got)
    if (m.topic.rfind(prefix + "/away/", 0) == 0) away_seen.insert(m.topic + ":" + m.payload);
  CHECK(away_seen.size() == 100);
}

// A kill while a flush is half done: with 300 ms syncs and the broker away, most kills land inside
// a commit. Nothing a node heard a PUBACK for may be missing after the restart.
TEST_CASE("store: SIGKILL while a write-behind flush is half done loses nothing acknowledged") {
  const std::string prefix = "e2e/wbkill";
  constexpr int kEach = 60;
  constexpr std::size_t kNodes = 5;
  KeptBrokerAndSubscriber kept("e2e-wbkill-sub", prefix + "/#");
  auto& broker = kept.broker;
  auto& sub = kept.sub;

  const std::uint16_t port = free_udp_port();
  GatewayToml cfg{.broker_uri = broker.uri(), .udp_port = port};
  cfg.store_extra = "flush_interval = \"100ms\"\n";
  GatewayProcess gw(cfg.to_toml(), "e2e-store-wbkill");
  gw.set_env("MQTTSN_STORE_SYNC_DELAY_MS", "300");
  NodeHarness nodes(stream_nodes("wbkill", kNodes));
  nodes.open_udp(port);
  REQUIRE_MESSAGE(gw.start(), tail(gw.log(), 4000));
  REQUIRE_MESSAGE(gw.wait_upstream_connected(), tail(gw.log(), 4000));
  connect_all(nodes, gw);
  broker.stop();
  REQUIRE(
      gw.wait_status("stats", [](const nlohmann::json& j) { return j["upstream"]["state"] != "connected"; }));

  queue_stream(nodes, prefix, kEach, 1);
  const std::size_t n_total = kNodes * kEach;
  std::mt19937 rng(20261201);
  for (int kill = 0; kill < 3; ++kill) {
    const std::size_t target = n_total * static_cast<std::size_t>(kill + 1) / 4;
    REQUIRE_MESSAGE(nodes.run_until([&] { return total(nodes, EventKind::published) >= target; }, 60s),
                    tail(nodes.describe(0), 3000) << tail(gw.log(), 3000));
    // Somewhere inside the next commit (300 ms of sync).
    nodes.run_for(std::chrono::milliseconds(50 + rng() % 250));
    gw.kill_hard();
    REQUIRE_MESSAGE(gw.start(), tail(gw.log(), 4000));
  }
  REQUIRE_MESSAGE(nodes.run_until([&] { return all_idle(nodes); }, 120s), tail(nodes.describe(0), 3000)
                                                                              << tail(gw.log(), 3000));
  CHECK(total(nodes, EventKind::failure) == 0);
  broker.start();
  settle(gw, sub, total(nodes, EventKind::published), 60s);
  const Tally t = tally(nodes, prefix, kEach, sub.messages());
  MESSAGE("write-behind kills: acknowledged " << t.acked << ", received " << t.received << ", lost " << t.lost
                                              << ", duplicates " << t.duplicates);
  CHECK(t.acked == n_total);
  CHECK_MESSAGE(t.lost == 0, t.missing << "\n" << tail(gw.log(), 3000));
}
