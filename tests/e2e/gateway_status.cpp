// Looking inside the real mqttsn-gw: the status socket and the real mqttsn-gwctl show exactly the
// topic mappings the nodes made (UDP and XBee), the clients with their link and address, and
// counters that move with the traffic. And a clean SIGTERM: exit 0 within the grace time, with the
// presence topic left at "offline" (retained). The socket's bounds: connections at once, and a client
// that never reads its replies.
#include <doctest/doctest.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <tuple>

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

using Mapping = std::tuple<std::string, int, std::string, std::string>;  // client, id, kind, topic

std::set<Mapping> mappings(const nlohmann::json& topics) {
  std::set<Mapping> out;
  for (const auto& t : topics["topics"])
    out.emplace(t["client_id"].get<std::string>(), t["topic_id"].get<int>(), t["kind"].get<std::string>(),
                t["topic"].get<std::string>());
  return out;
}

std::uint64_t link_counter(const nlohmann::json& stats, const std::string& link, const char* name) {
  for (const auto& l : stats["links"])
    if (l["name"] == link) return l["counters"][name].get<std::uint64_t>();
  return 0;
}

}  // namespace

TEST_CASE(
    "status socket and mqttsn-gwctl show exactly the nodes' mappings, the clients, and moving counters") {
  MosquittoBroker broker;
  PahoTestClient commander(paho_options(broker.uri(), "e2e-status-commander"));
  REQUIRE(commander.connect());

  const std::uint16_t port = free_udp_port();
  GatewayToml cfg{.broker_uri = broker.uri(),
                  .udp_port = port,
                  .xbee_device = "{dir}/xbee",
                  .predefined_topics_file = "predefined.conf"};
  GatewayProcess gw(cfg.to_toml(), "e2e-status");
  gw.dir().write("predefined.conf", "1, e2e/status/pre\n0x0010, e2e/status/only-x, xnode\n");
  NodeHarness udp({node_config("unode")});
  NodeHarness xbee({node_config("xnode")});
  auto& udp_transport = udp.open_udp(port);
  xbee.open_xbee(gw.dir().file("xbee"));
  REQUIRE_MESSAGE(gw.start(), gw.log());
  REQUIRE_MESSAGE(gw.wait_upstream_connected(), gw.log());
  const auto before = gw.status("stats");

  // UDP node: two registrations, two publishes.
  REQUIRE_MESSAGE(udp.connect(0), udp.describe(0));
  udp.act(0, [](NodeClient& n, Millis t) { n.register_topic("e2e/status/u1", t); });
  udp.act(0, [](NodeClient& n, Millis t) { n.register_topic("e2e/status/u2", t); });
  REQUIRE(udp.wait_idle(0));
  CHECK(udp.publish(0, TopicRef::named("e2e/status/u1"), "1", 1));
  CHECK(udp.publish(0, TopicRef::named("e2e/status/u2"), "2", 0));
  const int u1 = *udp.node(0).topic_id("e2e/status/u1");
  const int u2 = *udp.node(0).topic_id("e2e/status/u2");

  // XBee node: one registration, and one topic the gateway registers for a wildcard subscription.
  REQUIRE_MESSAGE(xbee.connect(0), xbee.describe(0) << "\n" << gw.log());
  xbee.act(0, [](NodeClient& n, Millis t) { n.register_topic("e2e/status/x1", t); });
  xbee.act(0, [](NodeClient& n, Millis t) { n.subscribe(TopicRef::named("e2e/status/cmd/#"), 1, t); });
  REQUIRE_MESSAGE(xbee.wait_event(0, EventKind::subscribed), xbee.describe(0));
  REQUIRE(gw.wait_status("subscriptions", [](const nlohmann::json& j) {
    return !j["subscriptions"].empty() && j["subscriptions"][0]["upstream"] == "granted";
  }));
  REQUIRE(commander.publish("e2e/status/cmd/go", "go", 1, false));
  const auto reg = xbee.wait_event(0, EventKind::gateway_register);
  REQUIRE_MESSAGE(reg, xbee.describe(0));
  REQUIRE(xbee.wait_event(0, EventKind::message));
  const int x1 = *xbee.node(0).topic_id("e2e/status/x1");

  const std::set<Mapping> expected{
      {"*", 1, "predefined", "e2e/status/pre"}, {"xnode", 16, "predefined", "e2e/status/only-x"},
      {"unode", u1, "normal", "e2e/status/u1"}, {"unode", u2, "normal", "e2e/status/u2"},
      {"xnode", x1, "normal", "e2e/status/x1"}, {"xnode", reg->topic_id, "normal", "e2e/status/cmd/go"},
  };
  const auto topics = gw.status("topics");
  CHECK_MESSAGE(mappings(topics) == expected, topics.dump(1));
  for (const auto& t : topics["topics"]) CHECK(t["confirmed"] == true);

  // mqttsn-gwctl: the same document with --json; readable tables otherwise.
  auto run = gw.gwctl({"--json", "topics"});
  CHECK(run.exit_status == 0);
  CHECK(mappings(nlohmann::json::parse(run.out, nullptr, false)) == expected);
  run = gw.gwctl({"--json", "topics", "xnode"});
  CHECK(run.exit_status == 0);
  std::set<Mapping> only_x;
  for (const auto& m : expected)
    if (std::get<0>(m) != "unode") only_x.insert(m);
  CHECK_MESSAGE(mappings(nlohmann::json::parse(run.out, nullptr, false)) == only_x, run.out);
  run = gw.gwctl({"topics"});
  CHECK(run.exit_status == 0);
  for (const char* topic : {"e2e/status/u1", "e2e/status/u2", "e2e/status/x1", "e2e/status/cmd/go"})
    CHECK_MESSAGE(run.out.find(topic) != std::string::npos, run.out);

  // Clients, with link and address.
  const auto clients = gw.status("clients")["clients"];
  REQUIRE(clients.size() == 2);
  std::set<std::tuple<std::string, std::string, std::string>> rows;
  for (const auto& c : clients) rows.emplace(c["client_id"], c["link"], c["address"]);
  const std::set<std::tuple<std::string, std::string, std::string>> expected_clients{
      {"unode", "udp", "udp:127.0.0.1:" + std::to_string(udp_transport.local_port(0))},
      {"xnode", "xbee", "xbee:0013A20000000001"}};
  CHECK(rows == expected_clients);
  run = gw.gwctl({"clients"});
  CHECK(run.exit_status == 0);
  CHECK(run.out.find("unode") != std::string::npos);
  CHECK(run.out.find("xbee:0013A20000000001") != std::string::npos);

  // Counters moved with the traffic: two publishes up, five UDP datagrams in (CONNECT, 2 x
  // REGISTER, 2 x PUBLISH), the command down to the XBee node.
  const auto after = gw.status("stats");
  CHECK(after["core"]["publishes_up"].get<std::uint64_t>() -
            before["core"]["publishes_up"].get<std::uint64_t>() ==
        2);
  CHECK(link_counter(after, "udp", "datagrams_in") - link_counter(before, "udp", "datagrams_in") == 5);
  CHECK(link_counter(after, "xbee", "datagrams_in") > link_counter(before, "xbee", "datagrams_in"));
  CHECK(link_counter(after, "xbee", "datagrams_out") > link_counter(before, "xbee", "datagrams_out"));
  CHECK(after["core"].value("publishes_down", std::uint64_t{0}) >= 1);
  // The heap in use: a live figure, well above zero and below the process's whole address space;
  // null under a sanitizer, whose allocator does not tell.
  REQUIRE(after["memory"].contains("heap_in_use_bytes"));
  CHECK(after["memory"].contains("heap_free_bytes"));
#if defined(__SANITIZE_ADDRESS__)
  CHECK(after["memory"]["heap_in_use_bytes"].is_null());
#else
  const auto heap = after["memory"].value("heap_in_use_bytes", std::uint64_t{0});
  CHECK(heap > 10'000);
  CHECK(heap < 512ull * 1024 * 1024);
#endif
  run = gw.gwctl({"metrics"});
  CHECK(run.exit_status == 0);
  CHECK(run.out.find("publishes_up") != std::string::npos);
}

TEST_CASE("SIGTERM: exit 0 within the grace time, the presence topic left at 'offline' (retained)") {
  MosquittoBroker broker;
  PahoTestClient watcher(paho_options(broker.uri(), "e2e-presence-watcher"));
  REQUIRE(watcher.connect());
  REQUIRE(watcher.subscribe("e2e/gw/presence", 1));

  const std::uint16_t port = free_udp_port();
  GatewayToml cfg{.broker_uri = broker.uri(), .udp_port = port, .presence_topic = "e2e/gw/presence"};
  cfg.shutdown_grace = "3s";
  GatewayProcess gw(cfg.to_toml(), "e2e-sigterm");
  NodeHarness nodes({node_config("bystander")});
  nodes.open_udp(port);
  REQUIRE_MESSAGE(gw.start(), gw.log());
  REQUIRE_MESSAGE(
      watcher.wait_until([](const auto& m) { return !m.empty() && m.back().payload == "online"; }, 5s),
      gw.log());
  // A connected node and a publish in the pipe do not hold the exit up.
  REQUIRE(nodes.connect(0));
  CHECK(nodes.publish(0, TopicRef::named("e2e/gw/last"), "x", 1));

  const auto t0 = std::chrono::steady_clock::now();
  gw.signal(SIGTERM);
  const auto status = gw.wait_exit(5s);
  const auto took = std::chrono::steady_clock::now() - t0;
  REQUIRE_MESSAGE(status, gw.log());
  CHECK_MESSAGE(*status == 0, gw.log());
  CHECK(took < 3s);
  MESSAGE("SIGTERM to exit: " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                              << " ms");

  REQUIRE(watcher.wait_until([](const auto& m) { return !m.empty() && m.back().payload == "offline"; }, 5s));
  // Retained: a new subscription gets it as such.
  watcher.clear();
  REQUIRE(watcher.subscribe("e2e/gw/+", 1));
  REQUIRE(watcher.wait_for(1, 5s));
  CHECK(watcher.messages().front().payload == "offline");
  CHECK(watcher.messages().front().retained);
  CHECK(gw.log().find("stopped") != std::string::npos);
}

namespace {

// A raw connection to the status socket, held open as a dashboard script or a stuck client would.
struct RawStatusConnection {
  explicit RawStatusConnection(const std::string& path) {
    fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  }
  ~RawStatusConnection() { ::close(fd); }
  RawStatusConnection(const RawStatusConnection&) = delete;
  RawStatusConnection& operator=(const RawStatusConnection&) = delete;

  // MSG_NOSIGNAL: a connection the gateway closed fails the call instead of killing the test.
  bool send(const std::string& text) const {
    return ::send(fd, text.data(), text.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(text.size());
  }
  bool answered(const std::string& request) const {
    char buf[4096];
    return send(request + "\n") && ::read(fd, buf, sizeof buf) > 0 && buf[0] == '{';
  }
  // Everything until the gateway closes the connection (or 5 s pass).
  std::string read_to_end() const {
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
    return out;
  }
  int fd = -1;
};

std::size_t occurrences(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("status socket: connections over max_connections are told so and closed, logged once") {
  MosquittoBroker broker;
  GatewayToml cfg{.broker_uri = broker.uri(), .udp_port = free_udp_port()};
  cfg.extra = "\n[status]\nmax_connections = 2\n";
  GatewayProcess gw(cfg.to_toml(), "e2e-status-bounds");
  REQUIRE_MESSAGE(gw.start(), gw.log());
  const std::string refusal = "{\"error\":\"too many status connections\"}\n";
  std::size_t refused = 0;
  {
    // Fill the two places. The connection of the last status query may still count for a moment
    // (until the loop has closed it), so one attempt may be refused: count it.
    std::vector<std::unique_ptr<RawStatusConnection>> held;
    for (int attempt = 0; held.size() < 2 && attempt < 10; ++attempt) {
      auto c = std::make_unique<RawStatusConnection>(gw.socket_path());
      if (c->answered("version"))
        held.push_back(std::move(c));
      else
        ++refused;
    }
    REQUIRE(held.size() == 2);
    for (int k = 0; k < 3; ++k) {
      RawStatusConnection extra(gw.socket_path());
      CHECK(extra.read_to_end() == refusal);
      ++refused;
    }
    // The held ones are served as before.
    CHECK(held[1]->answered("version"));
    held[0].reset();
    // A query may itself be refused until the loop has closed held[0]: retried.
    nlohmann::json socket_stats;
    REQUIRE(gw.wait_status("stats", [&](const nlohmann::json& j) {
      if (!j.contains("status_socket")) return false;
      socket_stats = j["status_socket"];
      return true;
    }));
    CHECK(socket_stats["connections"] == 2);  // held[1] and the query
    CHECK(socket_stats["refused"].get<std::size_t>() >= refused);
  }
  const std::string log = gw.log();
  CHECK(occurrences(log, "new ones are refused") >= 1);
  CHECK(occurrences(log, "connections accepted again (") >= 1);
  // Once per episode, not once per refused connection.
  CHECK(occurrences(log, "new ones are refused") < refused);
}

TEST_CASE("status socket: a client that sends requests and never reads the replies is disconnected") {
  MosquittoBroker broker;
  GatewayToml cfg{.broker_uri = broker.uri(), .udp_port = free_udp_port()};
  cfg.extra = "\n[status]\nmax_reply_backlog = \"64K\"\n";
  GatewayProcess gw(cfg.to_toml(), "e2e-status-slow");
  REQUIRE_MESSAGE(gw.start(), gw.log());
  RawStatusConnection slow(gw.socket_path());
  // Far more than the socket's kernel buffers and the 64 KiB bound together; the gateway closes the
  // connection part way, so later writes may fail: that is the point.
  std::string burst;
  for (int k = 0; k < 500; ++k) burst += "metrics\n";
  for (int k = 0; k < 20 && slow.send(burst); ++k) {
  }
  REQUIRE(gw.wait_status(
      "stats", [](const nlohmann::json& j) { return j["status_socket"]["slow_disconnected"] == 1; }));
  CHECK(gw.log().find("replies unread ([status] max_reply_backlog); disconnecting it") != std::string::npos);
  // And the gateway serves everyone else as before.
  CHECK(gw.status("version").contains("version"));
}
