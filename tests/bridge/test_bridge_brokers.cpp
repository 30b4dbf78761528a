// The bridge against each broker it is tested with: the same cases on mosquitto and on RabbitMQ's
// MQTT plugin (TEST_CASE_TEMPLATE; the type names the broker, "<Mosquitto>" / "<RabbitMq>", which is
// how CMake picks each broker's cases). One broker per process, shared by the cases it runs: CMake
// runs the RabbitMQ cases in one process, as a node takes 10-20 s to start. Each case uses topics
// and client ids of its own.
//
// What differs is in the broker types: the QoS a broker does (RabbitMQ: 1, so the gateway runs with
// [upstream] max_qos = 1), what it grants a QoS 2 subscription, and whether a wildcard subscription
// gets retained messages.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "bridge_harness.hpp"
#include "memory_records.hpp"
#include "support/rabbitmq_broker.hpp"

using namespace mqttsn;
using namespace mqttsn::bridge;
using namespace mqttsn::bridge::test;
using mqttsn::test::PahoTestClient;

namespace {

constexpr const char* kUser = "mqttsn";
constexpr const char* kPassword = "mqttsn-test";

struct Mosquitto {
  static constexpr int max_qos = 2;
  static constexpr bool retained_for_wildcards = true;
  static mqttsn::test::MosquittoBroker& broker() {
    // Anonymous clients and one user with a password, plain and TLS listeners, as the RabbitMQ node below.
    static mqttsn::test::MosquittoBroker b([] {
      mqttsn::test::MosquittoOptions o;
      o.persistence = true;
      o.users = {{kUser, kPassword}};
      o.tls = true;
      return o;
    }());
    return b;
  }
  static std::string uri() { return broker().uri(); }
  static void restart() {
    broker().stop();
    broker().start();
  }
};

struct RabbitMq {
  static constexpr int max_qos = 1;
  // RabbitMQ's MQTT plugin looks retained messages up by the exact topic of a subscription only.
  static constexpr bool retained_for_wildcards = false;
  static mqttsn::test::RabbitMqBroker& broker() {
    static mqttsn::test::RabbitMqBroker b([] {
      mqttsn::test::RabbitMqOptions o;
      o.user = kUser;
      o.password = kPassword;
      o.tls = true;
      return o;
    }());
    return b;
  }
  static std::string uri() { return broker().uri(); }
  static void restart() {
    broker().stop();
    broker().start();
  }
};

// A TCP proxy on a loopback port to `port`, one connection at a time, that can cut the connection
// (both sockets closed, no MQTT DISCONNECT) and refuse further ones.
class CuttableProxy {
 public:
  explicit CuttableProxy(std::uint16_t port) : target_(port) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(listen_fd_ >= 0);
    sockaddr_in a = loopback(0);
    REQUIRE(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(listen_fd_, 4) == 0);
    socklen_t len = sizeof a;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~CuttableProxy() {
    stop_ = true;
    thread_.join();
    ::close(listen_fd_);
  }
  CuttableProxy(const CuttableProxy&) = delete;
  CuttableProxy& operator=(const CuttableProxy&) = delete;

  std::string uri() const { return "tcp://127.0.0.1:" + std::to_string(port_); }
  void refuse_and_cut() { cut_ = true; }

 private:
  static sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    return a;
  }
  void run() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int client = ::accept(listen_fd_, nullptr, nullptr);
      if (client < 0) continue;
      if (cut_) {
        ::close(client);
        continue;
      }
      const int upstream = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a = loopback(target_);
      if (::connect(upstream, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) relay(client, upstream);
      ::close(upstream);
      ::close(client);
    }
  }
  void relay(int a, int b) {
    char buf[8192];
    while (!stop_ && !cut_) {
      pollfd p[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
      if (::poll(p, 2, 50) <= 0) continue;
      for (int i = 0; i < 2; ++i) {
        if ((p[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
        const ssize_t n = ::read(p[i].fd, buf, sizeof buf);
        if (n <= 0 || ::write(p[1 - i].fd, buf, static_cast<std::size_t>(n)) != n) return;
      }
    }
  }

  std::uint16_t target_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> cut_{false};
};

// For each case, client ids and topics nobody else in the program uses.
std::string unique(const std::string& what) {
  static int n = 0;
  return what + "-" + std::to_string(++n);
}

BridgeOptions options_on(const std::string& uri, int max_qos) {
  auto o = options_for(uri);
  o.client_id = unique("gw");
  o.gateway_id = o.client_id;
  o.qos.ceiling = max_qos;
  return o;
}

bool has_payload(const std::vector<mqttsn::test::ReceivedMessage>& ms, const std::string& p) {
  for (const auto& m : ms)
    if (m.payload == p) return true;
  return false;
}

}  // namespace

TYPE_TO_STRING(Mosquitto);
TYPE_TO_STRING(RabbitMq);

#define BROKERS Mosquitto, RabbitMq

TEST_CASE_TEMPLATE("brokers: uplink QoS 0, 1 and 2 arrive, QoS 2 at the broker's max_qos", B, BROKERS) {
  const std::string topic = unique("up");
  PahoTestClient sub(client_for(B::uri(), unique("sub")));
  REQUIRE(sub.connect());
  REQUIRE(sub.subscribe(topic + "/#", 2));
  BridgeHarness h(options_on(B::uri(), B::max_qos));
  REQUIRE(h.start_and_connect(30s));
  const auto a = h.publish(topic + "/0", "q0", 0);
  const auto b = h.publish(topic + "/1", "q1", 1);
  const auto c = h.publish(topic + "/2", "q2", 2);
  REQUIRE(h.run([&] { return h.events.results.size() == 3; }, 10s));
  CHECK(h.events.results[a] == PublishResult::delivered);
  CHECK(h.events.results[b] == PublishResult::delivered);
  CHECK(h.events.results[c] == PublishResult::delivered);
  REQUIRE(sub.wait_for(3, 10s));
  std::map<std::string, int> qos;
  for (const auto& m : sub.messages()) qos[m.payload] = m.qos;
  CHECK(qos["q0"] == 0);
  CHECK(qos["q1"] == 1);
  CHECK(qos["q2"] == B::max_qos);
  const auto st = h.bridge->status();
  CHECK(st.counters.published_qos2 == (B::max_qos == 2 ? 1u : 0u));
  CHECK(st.counters.qos2_not_completed == 0);
}

// Without max_qos the bridge finds out by itself (a PUBACK where PUBREC belongs), and no QoS 2
// record is left for a restart to resend.
TEST_CASE_TEMPLATE("brokers: QoS 2 with max_qos 2 arrives once and leaves no record", B, BROKERS) {
  const std::string topic = unique("q2");
  PahoTestClient sub(client_for(B::uri(), unique("sub")));
  REQUIRE(sub.connect());
  REQUIRE(sub.subscribe(topic, 2));
  MemoryRecords records;
  auto o = options_on(B::uri(), 2);
  o.clean_session = false;
  o.durable_records = &records;
  BridgeHarness h(o);
  REQUIRE(h.start_and_connect(30s));
  constexpr int kTotal = 15;
  for (int i = 0; i < kTotal; ++i) {
    PublishRequest r;
    r.id = ++h.last_id;
    const std::string payload = "m" + std::to_string(i);
    r.topic = topic;
    r.payload = bytes_of(payload);
    r.qos = 2;
    r.tag = i + 1;
    r.kept_above = true;
    h.bridge->publish(r);
  }
  REQUIRE(h.run([&] { return h.events.results.size() == kTotal; }, 20s));
  for (const auto& [id, result] : h.events.results) CHECK(result == PublishResult::delivered);
  REQUIRE(sub.wait_for(kTotal, 10s));
  h.run([] { return false; }, 500ms);  // a duplicate would arrive right behind
  std::set<std::string> seen;
  for (const auto& m : sub.messages()) seen.insert(m.payload);
  CHECK(seen.size() == static_cast<std::size_t>(kTotal));
  CHECK(sub.count() == static_cast<std::size_t>(kTotal));
  CHECK(records.size() == 0);
  const auto st = h.bridge->status();
  // A record, and its delivery noted, for each message that went up at QoS 2 (on RabbitMQ: those
  // sent before the first PUBACK came back).
  CHECK(records.delivered().size() == st.counters.published_qos2);
  if (B::max_qos == 2)
    CHECK(st.counters.qos2_not_completed == 0);
  else
    CHECK(st.counters.qos2_not_completed >= 1);
}

TEST_CASE_TEMPLATE("brokers: downlink delivers, and the node is told the QoS the broker granted", B,
                   BROKERS) {
  const std::string topic = unique("down");
  BridgeHarness h(options_on(B::uri(), 2));
  REQUIRE(h.start_and_connect(30s));
  h.bridge->subscribe(topic + "/+", 2);
  REQUIRE(h.run([&] { return h.events.subacks.size() == 1; }, 10s));
  CHECK(h.events.subacks[0].second == QoS{static_cast<QoS>(B::max_qos)});
  PahoTestClient pub(client_for(B::uri(), unique("pub")));
  REQUIRE(pub.connect());
  REQUIRE(pub.publish(topic + "/x", "d1", 1, false));
  REQUIRE(pub.publish(topic + "/y", "d0", 0, false));
  REQUIRE(h.run([&] { return h.events.messages.size() == 2; }, 10s));
  std::map<std::string, int> qos;
  for (const auto& m : h.events.messages) qos[m.payload] = m.qos;
  CHECK(qos["d1"] == 1);
  CHECK(qos["d0"] == 0);
}

// What the README tells users of each broker: a node subscribing to a filter gets the retained
// state on mosquitto, and on RabbitMQ only when it subscribes to the exact topic.
TEST_CASE_TEMPLATE("brokers: retained messages for exact and wildcard subscriptions", B, BROKERS) {
  const std::string topic = unique("retained");
  {
    PahoTestClient pub(client_for(B::uri(), unique("pub")));
    REQUIRE(pub.connect());
    REQUIRE(pub.publish(topic + "/state", "on", 1, true));
  }
  BridgeHarness h(options_on(B::uri(), B::max_qos));
  REQUIRE(h.start_and_connect(30s));
  h.bridge->subscribe(topic + "/state", 1);
  REQUIRE(h.run([&] { return h.events.subacks.size() == 1; }, 10s));
  REQUIRE(h.run([&] { return h.events.messages.size() == 1; }, 10s));
  CHECK(h.events.messages[0].payload == "on");
  CHECK(h.events.messages[0].retain);

  h.bridge->subscribe(topic + "/+", 1);
  REQUIRE(h.run([&] { return h.events.subacks.size() == 2; }, 10s));
  if (B::retained_for_wildcards) {
    REQUIRE(h.run([&] { return h.events.messages.size() == 2; }, 10s));
    CHECK(h.events.messages[1].payload == "on");
    CHECK(h.events.messages[1].retain);
  } else {
    h.run([] { return false; }, 1s);  // it would come right behind the SUBACK
    CHECK(h.events.messages.size() == 1);
  }
}

TEST_CASE_TEMPLATE("brokers: the will publishes offline when the connection dies", B, BROKERS) {
  // Through a proxy that cuts the TCP connection: no DISCONNECT, as when the gateway's host dies.
  // (A takeover by a second client with the same id would do on mosquitto, but RabbitMQ sends no
  // will then.)
  CuttableProxy proxy(B::broker().port());
  auto o = options_on(proxy.uri(), B::max_qos);
  o.topic_prefix = unique("will") + "/";
  const std::string state = o.topic_prefix + "gateway/" + o.gateway_id + "/state";
  PahoTestClient watch(client_for(B::uri(), unique("watch")));
  REQUIRE(watch.connect());
  REQUIRE(watch.subscribe(state, 1));
  BridgeHarness h(o);
  REQUIRE(h.start_and_connect(30s));
  REQUIRE(watch.wait_until([](const auto& ms) { return has_payload(ms, "online"); }, 10s));
  proxy.refuse_and_cut();
  CHECK(watch.wait_until([](const auto& ms) { return has_payload(ms, "offline"); }, 15s));
}

TEST_CASE_TEMPLATE("brokers: a kept session gets QoS 1 sent while the gateway was away", B, BROKERS) {
  const std::string topic = unique("kept");
  auto o = options_on(B::uri(), B::max_qos);
  o.clean_session = false;
  {
    BridgeHarness h(o);
    REQUIRE(h.start_and_connect(30s));
    h.bridge->subscribe(topic + "/#", 1);
    REQUIRE(h.run([&] { return h.events.subacks.size() == 1; }, 10s));
  }
  PahoTestClient pub(client_for(B::uri(), unique("pub")));
  REQUIRE(pub.connect());
  for (int i = 0; i < 5; ++i) REQUIRE(pub.publish(topic + "/a", "k" + std::to_string(i), 1, false));
  BridgeHarness h(o);
  REQUIRE(h.start_and_connect(30s));
  h.bridge->subscribe(topic + "/#", 1);
  REQUIRE(h.run([&] { return h.events.messages.size() >= 5; }, 15s));
  std::set<std::string> seen;
  for (const auto& m : h.events.messages) seen.insert(m.payload);
  CHECK(seen.size() == 5);
}

TEST_CASE_TEMPLATE("brokers: QoS 1 across a broker restart, nothing lost", B, BROKERS) {
  const std::string topic = unique("restart");
  auto sub_options = client_for(B::uri(), unique("sub"));
  sub_options.clean_session = false;
  sub_options.auto_reconnect = true;
  PahoTestClient sub(sub_options);
  REQUIRE(sub.connect());
  REQUIRE(sub.subscribe(topic, 1));
  auto o = options_on(B::uri(), B::max_qos);
  o.queue_max_messages = 1000;
  BridgeHarness h(o);
  REQUIRE(h.start_and_connect(30s));
  constexpr int kTotal = 200;
  std::vector<PublishId> ids;
  for (int i = 0; i < kTotal / 2; ++i) ids.push_back(h.publish(topic, "r" + std::to_string(i), 1));
  REQUIRE(h.run([&] { return h.events.results.size() == ids.size(); }, 15s));
  B::restart();
  for (int i = kTotal / 2; i < kTotal; ++i) ids.push_back(h.publish(topic, "r" + std::to_string(i), 1));
  REQUIRE(h.run([&] { return h.events.results.size() == ids.size(); }, 60s));
  for (const auto& [id, result] : h.events.results) CHECK(result != PublishResult::congested);
  REQUIRE(h.run([&] { return h.bridge->status().state == UpstreamState::connected; }, 60s));
  REQUIRE(
      h.run([&] { return h.bridge->status().queue_messages == 0 && h.bridge->status().inflight == 0; }, 60s));
  sub.wait_until(
      [&](const auto& ms) {
        std::set<std::string> s;
        for (const auto& m : ms) s.insert(m.payload);
        return s.size() >= static_cast<std::size_t>(kTotal);
      },
      30s);
  std::set<std::string> seen;
  for (const auto& m : sub.messages()) seen.insert(m.payload);
  MESSAGE("received " << sub.count() << " (" << seen.size() << " distinct) of " << kTotal);
  CHECK(seen.size() == static_cast<std::size_t>(kTotal));
}

TEST_CASE_TEMPLATE("brokers: password auth, the right one connects and a wrong one is refused", B, BROKERS) {
  {
    auto o = options_on(B::uri(), B::max_qos);
    o.username = kUser;
    o.password = std::string(kPassword);
    BridgeHarness h(o);
    CHECK(h.start_and_connect(30s));
  }
  auto o = options_on(B::uri(), B::max_qos);
  o.username = kUser;
  o.password = std::string("wrong");
  BridgeHarness h(o);
  h.bridge->start();
  CHECK(h.run([&] { return h.events.saw_state(UpstreamState::auth_refused); }, 15s));
  CHECK_FALSE(h.events.saw_state(UpstreamState::connected));
}

TEST_CASE_TEMPLATE("brokers: TLS with the broker's CA carries both ways, another CA is refused", B, BROKERS) {
  const std::string topic = unique("tls");
  PahoTestClient sub(client_for(B::uri(), unique("sub")));
  REQUIRE(sub.connect());
  REQUIRE(sub.subscribe(topic + "/up", 1));
  {
    auto o = options_on(B::broker().tls_uri(), B::max_qos);
    o.tls.ca_file = B::broker().pki().ca_cert;
    o.username = kUser;
    o.password = std::string(kPassword);
    BridgeHarness h(o);
    REQUIRE(h.start_and_connect(30s));
    CHECK(h.bridge->status().server == B::broker().tls_uri());
    const auto id = h.publish(topic + "/up", "up-over-tls", 1);
    REQUIRE(h.run([&] { return h.events.results.count(id) == 1; }, 10s));
    CHECK(h.events.results[id] == PublishResult::delivered);
    REQUIRE(sub.wait_for(1, 10s));
    CHECK(sub.messages()[0].payload == "up-over-tls");

    h.bridge->subscribe(topic + "/down", 1);
    REQUIRE(h.run([&] { return h.events.subacks.size() == 1; }, 10s));
    PahoTestClient pub(client_for(B::uri(), unique("pub")));
    REQUIRE(pub.connect());
    REQUIRE(pub.publish(topic + "/down", "down-over-tls", 1, false));
    REQUIRE(h.run([&] { return !h.events.messages.empty(); }, 10s));
    CHECK(h.events.messages[0].payload == "down-over-tls");
  }
  auto o = options_on(B::broker().tls_uri(), B::max_qos);
  o.tls.ca_file = B::broker().pki().other_ca_cert;
  BridgeHarness h(o);
  h.bridge->start();
  REQUIRE(h.run([&] { return h.bridge->status().state == UpstreamState::tls_failed; }, 15s));
  MESSAGE("reason: " << h.bridge->status().last_error);
  CHECK(h.bridge->status().last_error.find("certificate verify failed") != std::string::npos);
  CHECK(h.bridge->status().counters.connects == 0);
}
