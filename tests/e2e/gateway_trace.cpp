// The status socket's live packet trace (`trace [FILTER]`) on the real mqttsn-gw with real UDP
// nodes: a reader gets one JSON line per packet in and out with the node's client id, its filter
// keeps other nodes' packets away, and a connection that never reads costs the gateway at most its
// bounded backlog: its lines are dropped and counted (per connection and in `stats`), it is not
// disconnected, and the other trace connection and the status requests go on.
#include <doctest/doctest.h>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "e2e/e2e_child.hpp"
#include "e2e/e2e_config.hpp"
#include "e2e/e2e_nodes.hpp"
#include "e2e/gateway_process.hpp"
#include "support/mosquitto_broker.hpp"

using namespace mqttsn::e2e;
using namespace std::chrono_literals;
using mqttsn::test::GatewayProcess;
using mqttsn::test::MosquittoBroker;

namespace {

// A raw status-socket connection: what a browser's companion holds open.
class TraceConnection {
 public:
  TraceConnection(const std::string& path, const std::string& request, int rcvbuf = 0) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (rcvbuf > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    ok_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    const std::string line = request + "\n";
    ok_ = ok_ && ::send(fd_, line.data(), line.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(line.size());
  }
  ~TraceConnection() { ::close(fd_); }
  bool ok() const { return ok_; }

  // Complete lines read within `timeout` (stops early once `until` matches one).
  std::vector<nlohmann::json> read_lines(std::chrono::milliseconds timeout,
                                         const std::function<bool(const nlohmann::json&)>& until = {}) {
    std::vector<nlohmann::json> out;
    const auto end = std::chrono::steady_clock::now() + timeout;
    char buf[65536];
    while (std::chrono::steady_clock::now() < end) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      partial_.append(buf, static_cast<std::size_t>(n));
      std::size_t nl;
      while ((nl = partial_.find('\n')) != std::string::npos) {
        out.push_back(nlohmann::json::parse(partial_.substr(0, nl), nullptr, false));
        partial_.erase(0, nl + 1);
        if (until && until(out.back())) return out;
      }
    }
    return out;
  }
  bool closed() const { return closed_; }

 private:
  int fd_ = -1;
  bool ok_ = false;
  bool closed_ = false;
  std::string partial_;
};

}  // namespace

TEST_CASE("the live packet trace streams each packet with its client id, filtered, and bounded per reader") {
  MosquittoBroker broker;
  const std::uint16_t port = free_udp_port();
  GatewayToml cfg{.broker_uri = broker.uri(), .udp_port = port, .store = false};
  GatewayProcess gw(cfg.to_toml(), "e2e-trace");
  REQUIRE_MESSAGE(gw.start(), gw.log());
  REQUIRE_MESSAGE(gw.wait_upstream_connected(), gw.log());
  CHECK(gw.status("stats")["status_socket"]["trace_connections"] == 0);

  // A reader following one node.
  TraceConnection follower(gw.socket_path(), "trace tracednode");
  REQUIRE(follower.ok());
  const auto ack = follower.read_lines(5s, [](const nlohmann::json&) { return true; });
  REQUIRE(ack.size() == 1);
  CHECK(ack[0]["trace"] == "started");
  CHECK(ack[0]["filter"] == "tracednode");

  // A reader that never reads, with a small socket buffer: the gateway's backlog bound decides.
  TraceConnection stuck(gw.socket_path(), "trace", 4096);
  REQUIRE(stuck.ok());
  REQUIRE(gw.wait_status(
      "stats", [](const nlohmann::json& s) { return s["status_socket"]["trace_connections"] == 2; }));

  NodeHarness nodes({node_config("tracednode")});
  nodes.open_udp(port);
  REQUIRE_MESSAGE(nodes.connect(0), nodes.describe(0));
  CHECK(nodes.publish(0, TopicRef::named("e2e/trace/t"), "21.5", 1));
  const auto lines = follower.read_lines(5s, [](const nlohmann::json& j) { return j["type"] == "PUBACK"; });
  bool saw_publish = false, saw_puback = false;
  for (const auto& j : lines) {
    CHECK(j["client_id"] == "tracednode");  // the filter: nothing about other clients
    CHECK(j["link"] == "udp");
    CHECK(j["address"].get<std::string>().starts_with("udp:127.0.0.1:"));
    if (j["type"] == "PUBLISH" && j["dir"] == "in")
      saw_publish = j["summary"].get<std::string>().find("21.5") != std::string::npos;
    if (j["type"] == "PUBACK" && j["dir"] == "out") saw_puback = true;
  }
  CHECK_MESSAGE(saw_publish, nlohmann::json(lines).dump());
  CHECK(saw_puback);

  // Floods of readings from other nodes: far more trace than the stuck reader's backlog may hold.
  const std::string sim = std::string(MQTTSN_BINARY_DIR) + "/tools/sim/mqttsn-sim";
  {
    ChildProcess flood({sim, "--udp", "127.0.0.1:" + std::to_string(port), "-n", "10", "--client-id",
                        "flood%n", "-t", "e2e/trace/flood/%n", "-q", "0", "-p", "2ms"},
                       gw.dir().file("flood.log"));
    REQUIRE_MESSAGE(
        gw.wait_status(
            "stats",
            [](const nlohmann::json& s) { return s["status_socket"]["trace_dropped"].get<int>() > 0; }, 30s),
        (gw.status("stats")["status_socket"].dump() + flood.log()));
    const auto ss = gw.status("stats")["status_socket"];
    CHECK(ss["slow_disconnected"] == 0);  // dropped lines, not a dropped connection
    CHECK(ss["trace_connections"] == 2);
  }  // the flood ends here (killed): the counts below stay still

  // The follower's filter kept the flood away: it saw no line of it, and lost none of its own.
  CHECK(nodes.publish(0, TopicRef::named("e2e/trace/t"), "22.0", 1));
  const auto after = follower.read_lines(5s, [](const nlohmann::json& j) { return j["type"] == "PUBACK"; });
  REQUIRE_FALSE(after.empty());
  for (const auto& j : after) {
    CHECK(j["client_id"] == "tracednode");
    CHECK(j["dropped"] == 0);
  }

  // The stuck reader reads at last: its backlog drains, and the next lines say how many it missed.
  std::vector<nlohmann::json> drained = stuck.read_lines(3s);
  CHECK_FALSE(stuck.closed());
  CHECK(nodes.publish(0, TopicRef::named("e2e/trace/t"), "22.5", 1));
  const auto tail = stuck.read_lines(5s, [](const nlohmann::json& j) { return j["type"] == "PUBACK"; });
  REQUIRE_FALSE(tail.empty());
  CHECK(tail.back()["dropped"].get<std::uint64_t>() == gw.status("stats")["status_socket"]["trace_dropped"]);
  CHECK(drained.size() > 100);
}
