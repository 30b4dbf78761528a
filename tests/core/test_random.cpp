// Randomized: long sequences of valid and invalid datagrams from many nodes (direct and behind a
// forwarder), upstream messages, acks and time, with fixed seeds. After every step the core's
// cross-references must hold (no orphan in-flight entries, subscription counts equal the tree,
// buffered messages within bounds); ASan/UBSan catch the rest.
#include <random>

#include "harness.hpp"

using namespace mqttsn;
using namespace mqttsn::test;

namespace {

class Fuzzer {
 public:
  explicit Fuzzer(std::uint32_t seed) : rng_(seed), h_(options()) {
    h_.gw.set_predefined_topics({{1, "p/one", std::nullopt}, {2, "p/two", std::string("n3")}});
    h_.out.results.clear();
  }

  static GatewayOptions options() {
    auto o = test_options();
    o.advertise_period_s = 30;
    o.limits.max_clients = 12;
    o.limits.topic_ids_per_client = 6;
    o.limits.subscriptions_per_client = 4;
    o.limits.buffered_per_client = 4;
    o.limits.in_flight_per_client = 2;
    o.limits.uplink_in_flight_per_client = 2;
    o.limits.max_payload = 40;
    o.retry_interval = Millis{2000};
    o.max_retries = 2;
    return o;
  }

  void step() {
    switch (pick(14)) {
      case 0:
        send(connect());
        break;
      case 1:
        send(Register{0, id16(), topic()});
        break;
      case 2:
        send(publish());
        break;
      case 3:
        send(Subscribe{coin(), qos(), TopicIdType(pick(3)), id16(), filter(), small_id()});
        break;
      case 4:
        send(Unsubscribe{TopicIdType(pick(3)), id16(), filter(), small_id()});
        break;
      case 5:
        send(ack());
        break;
      case 6:
        send(sleep_or_ping());
        break;
      case 7:
        send(will());
        break;
      case 8:
        garbage();
        break;
      case 9:
        upstream();
        break;
      case 10:
        upstream_answers();
        break;
      case 11:
        h_.advance(Millis{static_cast<std::int64_t>(pick(3000))});
        break;
      case 12:
        h_.gw.on_upstream_state(coin(), h_.now);
        break;
      case 13:
        h_.gw.on_delivery_failure(udp(1 + static_cast<int>(pick(8))), h_.now);
        break;
    }
    h_.out.events.clear();
    auto v = h_.gw.invariant_violations();
    for (const auto& s : v) FAIL_CHECK(s);
    REQUIRE(v.empty());
  }

  Harness& harness() { return h_; }

 private:
  std::uint32_t pick(std::uint32_t n) { return std::uniform_int_distribution<std::uint32_t>(0, n - 1)(rng_); }
  bool coin() { return pick(2) == 1; }
  QoS qos() { return static_cast<QoS>(pick(3)); }
  std::uint16_t id16() { return static_cast<std::uint16_t>(1 + pick(6)); }
  std::uint16_t small_id() {
    static const std::uint16_t ids[] = {1, 2, 3, short_topic_id('a', 'b'), short_topic_id('+', '#')};
    return ids[pick(5)];
  }
  std::string_view topic() {
    static const char* t[] = {"a", "a/b", "a/c", "ab", "b/x/y", "$SYS/x", "p/one", "a/+"};
    return t[pick(8)];
  }
  std::string_view filter() {
    static const char* f[] = {"a/#", "a/b", "+/x/+", "#", "ab", "a/+", "bad#", "p/one"};
    return f[pick(8)];
  }
  std::string client_id() { return "n" + std::to_string(pick(10)); }

  Message connect() {
    id_storage_ = client_id();
    static const std::uint16_t keep_alive[] = {0, 10, 60, 120};
    return Connect{pick(4) == 0, coin(), 1, keep_alive[pick(4)], id_storage_};
  }
  Message publish() {
    payload_.assign(pick(50), 0x55);
    QoS q = static_cast<QoS>(static_cast<int>(pick(4)) - 1);
    TopicIdType type = TopicIdType(pick(3));
    if (q == -1 && type == TopicIdType::normal) type = TopicIdType::predefined;
    return Publish{coin(),
                   q,
                   coin(),
                   type,
                   small_id(),
                   q > 0 ? id16() : std::uint16_t{0},
                   Bytes(payload_.data(), payload_.size())};
  }
  Message ack() {
    switch (pick(5)) {
      case 0:
        return PubAck{small_id(), id16(), ReturnCode(pick(3))};
      case 1:
        return PubRec{id16()};
      case 2:
        return PubRel{id16()};
      case 3:
        return PubComp{id16()};
      default:
        return RegAck{small_id(), id16(), pick(4) == 0 ? ReturnCode::invalid_topic_id : ReturnCode::accepted};
    }
  }
  Message sleep_or_ping() {
    switch (pick(4)) {
      case 0:
        return Disconnect{};
      case 1:
        return Disconnect{static_cast<std::uint16_t>(pick(20))};
      case 2:
        return PingReq{};
      default:
        id_storage_ = client_id();
        return PingReq{id_storage_};
    }
  }
  Message will() {
    switch (pick(5)) {
      case 0:
        return WillTopic{coin(), qos(), coin(), topic()};
      case 1:
        return WillMsg{Bytes(payload_.data(), payload_.size())};
      case 2:
        return WillTopicUpd{coin(), qos(), coin(), topic()};
      case 3:
        return WillMsgUpd{Bytes(payload_.data(), payload_.size())};
      default:
        return SearchGw{static_cast<std::uint8_t>(pick(3))};
    }
  }

  void send(const Message& m) {
    std::vector<std::uint8_t> buf(512);
    auto r = encode(m, buf);
    if (!r) return;
    int node = 1 + static_cast<int>(pick(8));
    if (pick(5) == 0) {
      // Behind forwarder 20, node id one octet.
      std::vector<std::uint8_t> e{4, 0xFE, 0, static_cast<std::uint8_t>(node)};
      e.insert(e.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(r.size));
      h_.gw.on_datagram(udp(20), Bytes(e.data(), e.size()), h_.now);
      return;
    }
    h_.gw.on_datagram(udp(node), Bytes(buf.data(), r.size), h_.now);
  }
  void garbage() {
    std::vector<std::uint8_t> g(pick(12));
    for (auto& b : g) b = static_cast<std::uint8_t>(pick(256));
    if (!g.empty() && coin()) g[0] = static_cast<std::uint8_t>(g.size());
    h_.gw.on_datagram(udp(1 + static_cast<int>(pick(8))), Bytes(g.data(), g.size()), h_.now);
  }
  void upstream() {
    static const char* t[] = {"a/b", "a/c", "ab", "b/x/y", "$SYS/x", "p/one", "a", "a/b/c/d/e/f/g/h"};
    h_.upstream(t[pick(8)], "payload", qos(), coin());
  }
  void upstream_answers() {
    // Answer what the fake recorded: tokens and subscribe filters.
    if (pick(3) == 0) h_.out.results.push_back(UpstreamAccept(pick(4)));
    if (h_.out.last_token > 0 && coin())
      h_.gw.on_upstream_ack(1 + pick(static_cast<std::uint32_t>(h_.out.last_token)), pick(4) != 0, h_.now);
    for (const auto& s : h_.gw.subscriptions())
      if (s.upstream == UpstreamSubState::pending && coin())
        h_.gw.on_upstream_suback(s.filter, pick(5) == 0 ? std::nullopt : std::optional<QoS>(qos()), h_.now);
  }

  std::mt19937 rng_;
  Harness h_;
  std::string id_storage_;
  std::vector<std::uint8_t> payload_;
};

}  // namespace

TEST_CASE("randomized datagram sequences keep every invariant") {
  for (std::uint32_t seed : {1u, 2u, 3u, 4u, 5u, 6u, 7u, 8u}) {
    CAPTURE(seed);
    Fuzzer f(seed);
    for (int i = 0; i < 20000; ++i) f.step();
    auto& h = f.harness();
    // The walk reached the interesting places, not only the error paths.
    CHECK(h.gw.counter(Counter::publishes_up) > 20);
    CHECK(h.gw.counter(Counter::publishes_down) > 20);
    CHECK(h.gw.counter(Counter::wills_published) > 0);
    CHECK(h.gw.counter(Counter::retries_exhausted) > 0);
    CHECK(h.gw.counter(Counter::buffer_full) + h.gw.counter(Counter::buffer_dropped_qos0) > 0);
    MESSAGE("seed " << seed << ": up " << h.gw.counter(Counter::publishes_up) << " down "
                    << h.gw.counter(Counter::publishes_down) << " sessions " << h.gw.session_count());
    // Let every timer run out: all sessions end up lost/removed, nothing is left in flight.
    for (int i = 0; i < 300; ++i) h.advance(Millis{30000});
    // Only a client asleep (duration 0 = unsupervised) or a CleanSession=0 session whose client is
    // away may still hold messages for later.
    for (const auto& c : h.gw.clients()) {
      if (c.state == ClientState::asleep) continue;
      if (!c.clean_session && (c.state == ClientState::lost || c.state == ClientState::disconnected))
        continue;
      CHECK(c.in_flight == 0);
      CHECK(c.buffered == 0);
    }
    CHECK(h.gw.invariant_violations().empty());
  }
}
