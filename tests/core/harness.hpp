#pragma once
// Conformance-test harness in mosquitto's style: a recording fake of Outputs and a fake clock. A
// test sends exact datagram bytes (hex) and asserts the exact datagrams and upstream calls that
// follow, as one string per event:
//   "send udp:10.0.0.1:1001 03 05 00"       a datagram to a node
//   "bcast 255 r0 05 00 01 03 84"           a broadcast on a link with a radius
//   "publish a/b q1 r0 32 31"               an upstream publish (payload in hex)
//   "subscribe a/+ q1" / "unsubscribe a/+"
// The upstream's answers to publishes (PublishResult) come on a later call, as Outputs requires: after
// every input the Harness drives it answers the outstanding ids with out.auto_result, like an upstream
// that answers on the next loop turn. With auto_result = nullopt the test answers by hand through
// gw.on_publish_result() (out.last_id, out.ids).
#include <doctest/doctest.h>

#include <cstdio>
#include <deque>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "gateway/core/codec.hpp"
#include "gateway/core/gateway.hpp"
#include "gateway/core/log.hpp"

namespace doctest {
template <>
struct StringMaker<std::vector<std::string>> {
  static String convert(const std::vector<std::string>& v) {
    std::string s = "{";
    for (const auto& e : v) s += "\n  \"" + e + "\"";
    s += v.empty() ? "}" : "\n}";
    return String(s.c_str());
  }
};
}  // namespace doctest

namespace mqttsn::test {

inline std::vector<std::uint8_t> from_hex(std::string_view hex) {
  std::vector<std::uint8_t> out;
  int hi = -1;
  for (char c : hex) {
    int v;
    if (c >= '0' && c <= '9')
      v = c - '0';
    else if (c >= 'a' && c <= 'f')
      v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      v = c - 'A' + 10;
    else
      continue;
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<std::uint8_t>(hi * 16 + v));
      hi = -1;
    }
  }
  return out;
}

inline std::string to_hex(Bytes b) {
  std::string s;
  char buf[4];
  for (std::size_t i = 0; i < b.size(); ++i) {
    std::snprintf(buf, sizeof buf, i ? " %02X" : "%02X", b[i]);
    s += buf;
  }
  return s;
}

// Hex of an ASCII string, for readable payload/topic bytes in expectations.
inline std::string hex_of(std::string_view text) {
  return to_hex(Bytes(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

class RecordingOutputs final : public Outputs {
 public:
  std::vector<std::string> events;
  // Every publish with what the events leave out (its id and client id), in order.
  struct Published {
    PublishId id = 0;
    std::string client_id;
    std::string topic;
    QoS qos = 0;
  };
  std::vector<Published> published;
  // Ids (!= 0) of publishes not answered by the Harness yet, oldest first, and the latest one.
  std::deque<PublishId> ids;
  PublishId last_id = 0;
  // What the Harness answers every outstanding id with after each input; nullopt: the test answers.
  std::optional<PublishResult> auto_result = PublishResult::delivered;

  void send(const LinkAddress& to, Bytes datagram) override {
    events.push_back("send " + to.to_string() + " " + to_hex(datagram));
  }
  void broadcast(std::uint8_t link, Bytes datagram, std::uint8_t radius) override {
    events.push_back("bcast " + std::to_string(link) + " r" + std::to_string(radius) + " " +
                     to_hex(datagram));
  }
  void publish(PublishId id, std::string_view client_id, std::string_view topic, Bytes payload, QoS qos,
               bool retain) override {
    std::string e =
        "publish " + std::string(topic) + " q" + std::to_string(qos) + " r" + (retain ? "1" : "0");
    if (!payload.empty()) e += " " + to_hex(payload);
    events.push_back(e);
    published.push_back(Published{id, std::string(client_id), std::string(topic), qos});
    if (id == 0) return;
    // The core's side of the contract: an id names one publish, and only QoS 1/2 wait for a result.
    if (!seen_.insert(id).second) FAIL_CHECK("publish id " << id << " given twice");
    if (qos < 1) FAIL_CHECK("QoS " << static_cast<int>(qos) << " publish waits for a result");
    ids.push_back(id);
    last_id = id;
  }
  void subscribe(std::string_view filter, QoS qos) override {
    events.push_back("subscribe " + std::string(filter) + " q" + std::to_string(qos));
  }
  void unsubscribe(std::string_view filter) override {
    events.push_back("unsubscribe " + std::string(filter));
  }
  // Per-node upstream: "node_connect id c1 k60 will status/x q1 r1", "node_subscribe id a/+ q1",
  // "node_unsubscribe id a/+", "node_close id".
  void node_connect(const NodeConnect& c) override {
    std::string e = "node_connect " + std::string(c.client_id) + " c" + (c.clean_session ? "1" : "0") + " k" +
                    std::to_string(c.keep_alive_s);
    if (c.will)
      e +=
          " will " + c.will->topic + " q" + std::to_string(c.will->qos) + " r" + (c.will->retain ? "1" : "0");
    if (c.will_update) e += " update";
    events.push_back(e);
  }
  void node_subscribe(std::string_view client_id, std::string_view filter, QoS qos) override {
    events.push_back("node_subscribe " + std::string(client_id) + " " + std::string(filter) + " q" +
                     std::to_string(qos));
  }
  void node_unsubscribe(std::string_view client_id, std::string_view filter) override {
    events.push_back("node_unsubscribe " + std::string(client_id) + " " + std::string(filter));
  }
  void node_close(std::string_view client_id) override {
    events.push_back("node_close " + std::string(client_id));
  }

 private:
  std::set<PublishId> seen_;
};

// A policy the test can steer.
class TestPolicy final : public AccessPolicy {
 public:
  std::vector<std::string> deny_connect, deny_publish, deny_subscribe;
  std::vector<std::string> per_node;  // mixed mode: these get their own broker connection
  bool may_connect(std::string_view id, const ConnectOrigin&) const override {
    return !has(deny_connect, id);
  }
  bool may_publish(std::string_view, std::string_view topic) const override {
    return !has(deny_publish, topic);
  }
  bool may_subscribe(std::string_view, std::string_view f) const override { return !has(deny_subscribe, f); }
  bool upstream_per_node(std::string_view id) const override { return has(per_node, id); }

 private:
  static bool has(const std::vector<std::string>& v, std::string_view s) {
    for (const auto& x : v)
      if (x == s) return true;
    return false;
  }
};

inline LinkAddress udp(int n) {
  return LinkAddress::udp4(0, {10, 0, 0, static_cast<std::uint8_t>(n)}, static_cast<std::uint16_t>(1000 + n));
}
inline std::string addr(int n) {
  return udp(n).to_string();
}

inline GatewayOptions test_options() {
  GatewayOptions o;
  o.gw_id = 1;
  o.advertise_period_s = 0;
  o.retry_interval = Millis{10000};
  o.max_retries = 3;
  return o;
}

struct Harness {
  explicit Harness(GatewayOptions o = test_options()) : options(o), gw(options, out, policy) {
    log::set_level(log::Level::error);
  }

  GatewayOptions options;
  RecordingOutputs out;
  TestPolicy policy;
  Gateway gw;
  Millis now{1000};

  // Delivers one datagram (hex) from node n.
  void recv(int n, std::string_view hex) { recv(udp(n), hex); }
  void recv(const LinkAddress& from, std::string_view hex) {
    auto bytes = from_hex(hex);
    gw.on_datagram(from, Bytes(bytes.data(), bytes.size()), now);
    answer_publishes();
  }
  void recv_msg(int n, const Message& m) {
    std::vector<std::uint8_t> buf(70000);
    auto r = encode(m, buf);
    REQUIRE(r);
    gw.on_datagram(udp(n), Bytes(buf.data(), r.size), now);
    answer_publishes();
  }
  void upstream(std::string_view topic, std::string_view payload, QoS qos, bool retain = false) {
    gw.on_upstream_message(topic,
                           Bytes(reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()), qos,
                           retain, now);
    answer_publishes();
  }
  // Moves the clock and runs the timers.
  void advance(Millis d) {
    now += d;
    gw.on_tick(now);
    answer_publishes();
  }
  void advance_s(int s) { advance(Millis{s * 1000}); }

  // The upstream's next loop turn: every outstanding id gets out.auto_result (none when nullopt).
  void answer_publishes() {
    while (out.auto_result && !out.ids.empty()) {
      const PublishId id = out.ids.front();
      out.ids.pop_front();
      gw.on_publish_result(id, *out.auto_result, now);
    }
  }

  // Events since the last take().
  std::vector<std::string> take() {
    auto e = std::move(out.events);
    out.events.clear();
    return e;
  }

  // Setup helpers (the flow under test uses exact bytes).
  void connect(int n, std::string_view client_id, bool clean = true, std::uint16_t keep_alive = 60) {
    recv_msg(n, Connect{false, clean, 1, keep_alive, client_id});
    auto e = take();
    REQUIRE(e.size() >= 1);
    REQUIRE(e[0] == "send " + addr(n) + " 03 05 00");
  }
  // Registers `topic` for node n, returns the id.
  std::uint16_t reg(int n, std::string_view topic, std::uint16_t msg_id = 1) {
    recv_msg(n, Register{0, msg_id, topic});
    auto e = take();
    REQUIRE(e.size() == 1);
    auto b = from_hex(e[0].substr(e[0].rfind(addr(n)) + addr(n).size()));
    REQUIRE(b.size() == 7);
    REQUIRE(b[6] == 0);
    return static_cast<std::uint16_t>(b[2] << 8 | b[3]);
  }
  // Subscribes and completes the upstream side (first subscriber) with the given grant.
  void subscribe(int n, std::string_view filter, QoS qos, std::uint16_t msg_id = 1) {
    recv_msg(n, Subscribe{false, qos, TopicIdType::normal, msg_id, filter, 0});
    auto e = take();
    if (!e.empty() && e[0].rfind("subscribe ", 0) == 0) {
      gw.on_upstream_suback(filter, qos, now);
      take();
    }
  }
  void check_invariants() {
    auto v = gw.invariant_violations();
    for (const auto& s : v) FAIL_CHECK(s);
  }
};

using Events = std::vector<std::string>;

}  // namespace mqttsn::test
