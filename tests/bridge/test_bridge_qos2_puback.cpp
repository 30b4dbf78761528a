// A broker that answers a QoS 2 PUBLISH with a PUBACK (RabbitMQ's MQTT plugin, AWS IoT Core, Azure
// IoT Hub do). Paho reports such a publish as done but keeps the exchange open, resending it at every
// reconnect and keeping its record across restarts. The bridge must notice, deliver at QoS 1, leave
// no record, and send later QoS 2 messages at QoS 1.
//
// The broker here is a scripted peer on a loopback socket: the point is our reaction to a broker
// that misbehaves in one exact way. tests/bridge/test_bridge_brokers.cpp runs the real RabbitMQ.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bridge_harness.hpp"
#include "gateway/core/log.hpp"
#include "memory_records.hpp"

using namespace mqttsn;
using namespace mqttsn::bridge;
using namespace mqttsn::bridge::test;

namespace {

// MQTT 3.1.1 broker that knows just enough: CONNACK (session present from the second connection
// on), PUBACK for every QoS 1 and QoS 2 PUBLISH, SUBACK granting QoS 1, PINGRESP.
class PubackBroker {
 public:
  struct Publish {
    std::string topic;
    std::string payload;
    int qos = 0;
    bool dup = false;
    std::string raw;
  };

  // `silent_qos2`: a QoS 2 PUBLISH gets no answer at all.
  explicit PubackBroker(bool silent_qos2 = false) : silent_qos2_(silent_qos2) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(listen_fd_ >= 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(listen_fd_, 4) == 0);
    socklen_t len = sizeof a;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~PubackBroker() {
    stop_ = true;
    thread_.join();
    ::close(listen_fd_);
  }
  PubackBroker(const PubackBroker&) = delete;
  PubackBroker& operator=(const PubackBroker&) = delete;

  std::string uri() const { return "tcp://127.0.0.1:" + std::to_string(port_); }
  std::vector<Publish> publishes() const {
    std::lock_guard lock(mutex_);
    return publishes_;
  }
  int connects() const { return connects_.load(); }
  void drop_connection() { drop_ = true; }

 private:
  void run() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      serve(fd);
      ::close(fd);
    }
  }
  void serve(int fd) {
    std::vector<std::uint8_t> in;
    drop_ = false;
    while (!stop_ && !drop_) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      std::uint8_t buf[4096];
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) return;
      in.insert(in.end(), buf, buf + n);
      while (true) {
        std::size_t at = 1, remaining = 0;
        int shift = 0;
        bool complete = false;
        while (at < in.size() && shift <= 21) {
          remaining |= static_cast<std::size_t>(in[at] & 0x7F) << shift;
          shift += 7;
          if ((in[at++] & 0x80) == 0) {
            complete = true;
            break;
          }
        }
        if (!complete || in.size() < at + remaining) break;
        std::vector<std::uint8_t> body(in.begin() + static_cast<std::ptrdiff_t>(at),
                                       in.begin() + static_cast<std::ptrdiff_t>(at + remaining));
        const std::uint8_t header = in[0];
        in.erase(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(at + remaining));
        if (!answer(fd, header, body)) return;
      }
    }
  }
  bool answer(int fd, std::uint8_t header, const std::vector<std::uint8_t>& body) {
    auto send = [&](std::vector<std::uint8_t> packet) {
      return ::write(fd, packet.data(), packet.size()) == static_cast<ssize_t>(packet.size());
    };
    switch (header >> 4) {
      case 1:  // CONNECT
        return send({0x20, 0x02, static_cast<std::uint8_t>(connects_++ > 0 ? 1 : 0), 0x00});
      case 3: {  // PUBLISH
        const int qos = (header >> 1) & 3;
        const std::size_t topic_len = (std::size_t{body[0]} << 8) | body[1];
        Publish pub;
        pub.topic.assign(body.begin() + 2, body.begin() + 2 + static_cast<std::ptrdiff_t>(topic_len));
        std::size_t at = 2 + topic_len;
        std::uint8_t id_hi = 0, id_lo = 0;
        if (qos > 0) {
          id_hi = body[at];
          id_lo = body[at + 1];
          at += 2;
        }
        pub.payload.assign(body.begin() + static_cast<std::ptrdiff_t>(at), body.end());
        pub.qos = qos;
        pub.dup = (header & 0x08) != 0;
        pub.raw = std::to_string(header) + ":";
        for (auto b : body) pub.raw += std::to_string(b) + ",";
        {
          std::lock_guard lock(mutex_);
          publishes_.push_back(std::move(pub));
        }
        if (qos == 2 && silent_qos2_) return true;
        return qos == 0 || send({0x40, 0x02, id_hi, id_lo});  // PUBACK, whatever the QoS
      }
      case 8:  // SUBSCRIBE: one filter per packet, granted QoS 1
        return send({0x90, 0x03, body[0], body[1], 0x01});
      case 12:  // PINGREQ
        return send({0xD0, 0x00});
      case 14:  // DISCONNECT
        return false;
      default:
        return true;
    }
  }

  bool silent_qos2_ = false;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> drop_{false};
  std::atomic<int> connects_{0};
  mutable std::mutex mutex_;
  std::vector<Publish> publishes_;
};

std::mutex g_warnings_mutex;  // Paho's threads log too
std::vector<std::string> g_warnings;
void keep_warnings(log::Level level, std::string_view line) {
  std::lock_guard lock(g_warnings_mutex);
  if (level <= log::Level::warning) g_warnings.emplace_back(line);
}

}  // namespace

TEST_CASE(
    "a broker that answers QoS 2 with PUBACK: delivered at QoS 1, no record left, later QoS 2 at QoS 1") {
  PubackBroker broker;
  MemoryRecords records;
  auto o = options_for(broker.uri());
  o.clean_session = false;
  o.durable_records = &records;
  g_warnings.clear();
  log::set_sink(&keep_warnings);
  BridgeHarness h(o);
  REQUIRE(h.start_and_connect());

  // Five in one loop turn: all go up at QoS 2 before the first PUBACK is back.
  std::vector<PublishId> ids;
  auto publish = [&](MessageTag tag) {
    PublishRequest r;
    r.id = ++h.last_id;
    const std::string payload = "m" + std::to_string(tag);
    r.topic = "q2/puback";
    r.payload = bytes_of(payload);
    r.qos = 2;
    r.tag = tag;
    r.kept_above = true;
    h.bridge->publish(r);
    ids.push_back(r.id);
  };
  for (MessageTag tag = 1; tag <= 5; ++tag) publish(tag);
  auto all_answered = [&] {
    for (auto id : ids)
      if (h.events.results.count(id) == 0) return false;
    return true;
  };
  REQUIRE(h.run(all_answered, 10s));
  for (auto id : ids) CHECK(h.events.results[id] == PublishResult::delivered);
  auto st = h.bridge->status();
  CHECK(st.counters.qos2_not_completed == 5);
  CHECK(st.counters.published_qos2 == 5);
  CHECK(records.size() == 0);  // no exchange left for a restart to resend
  CHECK(records.delivered().size() == 5);

  // A later QoS 2 message goes up at QoS 1.
  const auto qos1_before = st.counters.published_qos1;  // the presence message
  publish(6);
  REQUIRE(h.run(all_answered, 10s));
  CHECK(h.events.results[ids.back()] == PublishResult::delivered);
  st = h.bridge->status();
  CHECK(st.counters.published_qos1 == qos1_before + 1);
  CHECK(st.counters.published_qos2 == 5);
  CHECK(st.counters.qos2_not_completed == 5);

  // A reconnect: Paho would resend its five open exchanges; the bridge has replaced the client.
  broker.drop_connection();
  REQUIRE(h.run(
      [&] { return broker.connects() >= 2 && h.bridge->status().state == UpstreamState::connected; }, 10s));
  h.run([] { return false; }, 1s);
  CHECK(records.size() == 0);

  log::set_sink(nullptr);
  std::lock_guard lock(g_warnings_mutex);
  int told = 0;
  for (const auto& w : g_warnings)
    if (w.find("max_qos = 1") != std::string::npos) ++told;
  CHECK(told == 1);
  std::map<std::string, int> seen;
  for (const auto& p : broker.publishes()) ++seen[p.payload];
  for (int i = 1; i <= 6; ++i) CHECK(seen["m" + std::to_string(i)] >= 1);
  std::string sent;
  for (const auto& p : broker.publishes())
    sent +=
        p.topic + " " + p.payload + " qos " + std::to_string(p.qos) + (p.dup ? " dup " : " ") + p.raw + "\n";
  INFO(sent);
  // Nothing but what the bridge sent: Paho's open exchanges point at memory it has freed, and a
  // resend of theirs would go up as garbage.
  for (const auto& p : broker.publishes()) {
    CHECK((p.topic == "q2/puback" || p.topic == "gateway/7/state"));
    if (p.payload == "m6") CHECK(p.qos == 1);
  }
}

TEST_CASE("a broker that never answers QoS 2: given up after the timeout and delivered at QoS 1") {
  PubackBroker broker(true);
  MemoryRecords records;
  auto o = options_for(broker.uri());
  o.clean_session = false;
  o.durable_records = &records;
  o.qos2_answer_timeout = Millis(500);
  {
    std::lock_guard lock(g_warnings_mutex);
    g_warnings.clear();
  }
  log::set_sink(&keep_warnings);
  BridgeHarness h(o);
  REQUIRE(h.start_and_connect());
  std::vector<PublishId> ids;
  for (int i = 1; i <= 3; ++i) ids.push_back(h.publish("q2/silent", "s" + std::to_string(i), 2));
  REQUIRE(h.run(
      [&] {
        for (auto id : ids)
          if (h.events.results.count(id) == 0) return false;
        return true;
      },
      10s));
  for (auto id : ids) CHECK(h.events.results[id] == PublishResult::delivered);
  const auto st = h.bridge->status();
  CHECK(st.counters.qos2_not_completed == 3);
  CHECK(st.inflight == 0);
  CHECK(records.size() == 0);
  CHECK(records.delivered().empty());  // the QoS 2 exchanges delivered nothing
  log::set_sink(nullptr);
  std::lock_guard lock(g_warnings_mutex);
  int told = 0;
  for (const auto& w : g_warnings)
    if (w.find("max_qos = 1") != std::string::npos) ++told;
  CHECK(told == 1);
  std::map<std::string, int> at_qos1;
  for (const auto& p : broker.publishes())
    if (p.qos == 1) ++at_qos1[p.payload];
  for (int i = 1; i <= 3; ++i) CHECK(at_qos1["s" + std::to_string(i)] == 1);
}
