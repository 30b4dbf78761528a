// Randomized: long sequences of valid and invalid datagrams from many nodes (direct and behind a
// forwarder), upstream messages, acks, publish results and time, with fixed seeds. After every step
// the core's cross-references must hold (no orphan in-flight entries, subscription counts equal the
// tree, buffered messages within bounds); ASan/UBSan catch the rest.
// Publish results come out of order, twice, and for ids never given; each one may answer only the
// PUBLISH it names (PUBACK/PUBREC with that msg id and what the result says), and nothing but a
// result acknowledges a publish.
// Mixed mode: some client ids have their own broker connection; what the shared connection brings
// never reaches them, and what one of their connections brings reaches no one else.
#include <map>
#include <random>
#include <tuple>

#include "harness.hpp"

using namespace mqttsn;
using namespace mqttsn::test;

namespace {

// Drives the gateway with seeded random traffic and checks it after each step. Not a fuzzer: the seeds
// are fixed and nothing steers towards new coverage (fuzz/ has the libFuzzer targets).
class RandomTrafficDriver {
 public:
  explicit RandomTrafficDriver(std::uint32_t seed, bool mixed = false)
      : rng_(seed), h_(options()), mixed_(mixed) {
    if (mixed_) h_.policy.per_node = {"n1", "n3", "n5", "n7", "n9"};
    h_.gw.set_predefined_topics({{1, "p/one", std::nullopt}, {2, "p/two", std::string("n3")}});
    h_.out.auto_result = std::nullopt;  // upstream_answers() gives the results
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
    const std::size_t published_before = h_.out.published.size();
    std::optional<Publish> sent_publish;
    const std::uint32_t what = pick(mixed_ ? 17 : 14);
    CAPTURE(what);
    switch (what) {
      case 0:
        send(connect());
        break;
      case 1:
        send(Register{0, id16(), topic()});
        break;
      case 2: {
        Route to = route();
        Publish p = std::get<Publish>(publish());
        if (last_publish_ && pick(3) == 0) {
          // The node sends its last QoS 1/2 PUBLISH again with DUP (no answer yet, or one lost).
          to = last_publish_->second;
          p = last_publish_->first;
          p.dup = true;
          p.data = Bytes(last_payload_.data(), last_payload_.size());
        } else if (p.qos >= 1) {
          last_payload_.assign(p.data.begin(), p.data.end());
          last_publish_.emplace(p, to);
        }
        sent_publish = p;
        send(p, to);
        break;
      }
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
        sent_publish = garbage();  // now and then it is a valid PUBLISH
        break;
      case 9: {
        const auto before = downlink_of(true);
        upstream();
        CHECK(downlink_of(true) == before);  // nothing for a node with its own connection
        break;
      }
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
      case 14:  // the broker's answer on a node's own connection, or a late or stray one
        id_storage_ = take_asked(node_connects_);
        h_.gw.on_node_connack(id_storage_, pick(4) == 0 ? ReturnCode(1 + pick(3)) : ReturnCode::accepted,
                              h_.now);
        break;
      case 15: {
        std::string f(filter());
        id_storage_ = take_asked(node_subscribes_);
        if (const auto gap = id_storage_.find(' '); gap != std::string::npos) {
          f = id_storage_.substr(gap + 1);
          id_storage_.resize(gap);
        }
        h_.gw.on_node_suback(id_storage_, f, pick(5) == 0 ? std::nullopt : std::optional<QoS>(qos()), h_.now);
        break;
      }
      case 16: {
        id_storage_ = client_id();
        const auto before = downlink_of(false, id_storage_);
        const auto mine = downlink_of(true);
        static const char* t[] = {"a/b", "a/c", "ab", "b/x/y", "p/one", "a"};
        // One draw per statement: the order of a call's arguments differs between compilers and
        // targets, and the walk must be the same on every machine for the seeds to mean anything.
        const char* topic_name = t[pick(6)];
        const QoS q = qos();
        const bool retain = coin();
        h_.gw.on_node_message(id_storage_, topic_name, Bytes(reinterpret_cast<const std::uint8_t*>("x"), 1),
                              q, retain, h_.now);
        h_.answer_publishes();
        CHECK(downlink_of(false, id_storage_) == before);  // nothing for anyone else
        if (downlink_of(true) != mine) ++own_deliveries_;
        break;
      }
    }
    // Only a node's QoS 1/2 PUBLISH waits for a result; remember what its result may answer.
    for (std::size_t i = published_before; i < h_.out.published.size(); ++i) {
      const auto& pub = h_.out.published[i];
      if (pub.id == 0) continue;
      REQUIRE(sent_publish);
      CHECK(pub.qos == sent_publish->qos);
      expected_[pub.id] = Expected{sent_publish->qos, sent_publish->msg_id};
    }
    outstanding_.insert(outstanding_.end(), h_.out.ids.begin(), h_.out.ids.end());
    h_.out.ids.clear();
    // Without a result: never PUBACK accepted; PUBREC only again for a QoS 2 DUP of the same msg id.
    for (const auto& e : h_.out.events) {
      auto m = sent_message(e);
      if (!m) continue;
      if (const auto* a = std::get_if<PubAck>(&*m); a && a->rc == ReturnCode::accepted)
        FAIL_CHECK("PUBACK accepted without a result: " << e);
      if (const auto* r = std::get_if<PubRec>(&*m);
          r && !(sent_publish && sent_publish->qos == 2 && sent_publish->msg_id == r->msg_id))
        FAIL_CHECK("PUBREC without a result: " << e);
    }
    // What the core asked of the nodes' own connections, for their answers later.
    for (const auto& e : h_.out.events) {
      if (e.rfind("node_connect ", 0) == 0) node_connects_.push_back(e.substr(13, e.find(' ', 13) - 13));
      if (e.rfind("node_subscribe ", 0) == 0) node_subscribes_.push_back(e.substr(15, e.rfind(' ') - 15));
    }
    h_.out.events.clear();
    auto v = h_.gw.invariant_violations();
    for (const auto& s : v) FAIL_CHECK(s);
    REQUIRE(v.empty());
  }

  Harness& harness() { return h_; }

  // What waits for or went down to each client: of the per-node ones (own) or of all but `except`.
  std::map<std::string, std::tuple<std::size_t, std::size_t, std::size_t, std::uint32_t>> downlink_of(
      bool own, std::string_view except = {}) {
    std::map<std::string, std::tuple<std::size_t, std::size_t, std::size_t, std::uint32_t>> m;
    for (const auto& c : h_.gw.clients()) {
      const bool per_node = h_.policy.upstream_per_node(c.client_id);
      if (own ? !per_node : c.client_id == except) continue;
      m[c.client_id] = {c.buffered, c.in_flight, c.buffered_bytes, c.msgs_down};
    }
    return m;
  }
  std::uint64_t results_acknowledged() const { return results_acknowledged_; }
  std::uint64_t own_deliveries() const { return own_deliveries_; }

  // The upstream's last word: every result still owed, in a random order.
  void answer_all() {
    while (!outstanding_.empty()) answer(take_outstanding(), false);
  }

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
  // Mostly one the core asked about ("id" or "id filter"), now and then any client id.
  std::string take_asked(std::vector<std::string>& asked) {
    if (asked.empty() || pick(4) == 0) return client_id();
    const std::size_t i = pick(static_cast<std::uint32_t>(asked.size()));
    std::string what = asked[i];
    asked.erase(asked.begin() + static_cast<std::ptrdiff_t>(i));
    return what;
  }

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

  struct Route {
    int node = 1;
    bool forwarded = false;  // behind forwarder 20
  };
  Route route() {
    Route r;
    r.node = 1 + static_cast<int>(pick(8));
    r.forwarded = pick(5) == 0;
    return r;
  }
  void send(const Message& m) { send(m, route()); }
  void send(const Message& m, Route to) {
    std::vector<std::uint8_t> buf(512);
    auto r = encode(m, buf);
    if (!r) return;
    const int node = to.node;
    if (to.forwarded) {
      // Behind forwarder 20, node id one octet.
      std::vector<std::uint8_t> e{4, 0xFE, 0, static_cast<std::uint8_t>(node)};
      e.insert(e.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(r.size));
      h_.gw.on_datagram(udp(20), Bytes(e.data(), e.size()), h_.now);
      return;
    }
    h_.gw.on_datagram(udp(node), Bytes(buf.data(), r.size), h_.now);
  }
  std::optional<Publish> garbage() {
    std::vector<std::uint8_t> g(pick(12));
    for (auto& b : g) b = static_cast<std::uint8_t>(pick(256));
    if (!g.empty() && coin()) g[0] = static_cast<std::uint8_t>(g.size());
    h_.gw.on_datagram(udp(1 + static_cast<int>(pick(8))), Bytes(g.data(), g.size()), h_.now);
    auto m = unwrapped(g);
    const auto* p = m ? std::get_if<Publish>(&*m) : nullptr;
    if (!p) return std::nullopt;
    Publish header = *p;
    header.data = {};  // only its QoS and msg id are looked at
    return header;
  }
  void upstream() {
    static const char* t[] = {"a/b", "a/c", "ab", "b/x/y", "$SYS/x", "p/one", "a", "a/b/c/d/e/f/g/h"};
    const char* topic_name = t[pick(8)];  // one draw per statement, as in step()
    const QoS q = qos();
    const bool retain = coin();
    h_.upstream(topic_name, "payload", q, retain);
  }
  PublishId take_outstanding() {
    const std::size_t i = pick(static_cast<std::uint32_t>(outstanding_.size()));
    const PublishId id = outstanding_[i];
    outstanding_.erase(outstanding_.begin() + static_cast<std::ptrdiff_t>(i));
    return id;
  }
  // One result. `again`: an id answered before, or one never given: it must change nothing.
  void answer(PublishId id, bool again) {
    const auto r = static_cast<PublishResult>(pick(3));
    const std::uint64_t stale_before = h_.gw.counter(Counter::stale_upstream_ack);
    h_.out.events.clear();
    h_.gw.on_publish_result(id, r, h_.now);
    const bool stale = h_.gw.counter(Counter::stale_upstream_ack) != stale_before;
    if (!again) answered_.push_back(id);
    CHECK((stale || !again));
    if (stale || h_.out.events.empty()) {
      CHECK(h_.out.events.empty());
      return;
    }
    REQUIRE(h_.out.events.size() == 1);
    auto m = sent_message(h_.out.events[0]);
    REQUIRE(m);
    auto it = expected_.find(id);
    REQUIRE(it != expected_.end());
    const Expected x = it->second;
    if (r == PublishResult::congested || x.qos == 1) {
      const auto* a = std::get_if<PubAck>(&*m);
      REQUIRE(a);
      CHECK(a->msg_id == x.msg_id);
      CHECK(a->rc == (r == PublishResult::congested ? ReturnCode::congestion : ReturnCode::accepted));
    } else {
      const auto* rec = std::get_if<PubRec>(&*m);
      REQUIRE(rec);
      CHECK(rec->msg_id == x.msg_id);
    }
    ++results_acknowledged_;
    h_.out.events.clear();
  }
  // The message in a "send <address> <hex>" event (unwrapped when encapsulated), if it is one.
  static std::optional<Message> sent_message(const std::string& event) {
    if (event.rfind("send ", 0) != 0) return std::nullopt;
    bytes_ = from_hex(event.substr(event.find(' ', 5) + 1));
    return unwrapped(bytes_);
  }
  // The message in a datagram, or in the one it encapsulates; it keeps views into `datagram`.
  static std::optional<Message> unwrapped(std::span<const std::uint8_t> datagram) {
    auto d = decode(datagram);
    if (!d) return std::nullopt;
    if (const auto* e = std::get_if<Encapsulated>(&d.message())) {
      d = decode(std::span<const std::uint8_t>(e->inner.data(), e->inner.size()));
      if (!d) return std::nullopt;
    }
    return d.message();
  }
  void upstream_answers() {
    // Publish results out of order, again for ids answered before, and for ids never given (0, or
    // far beyond anything the core handed out).
    for (std::uint32_t n = pick(4); n > 0; --n) {
      switch (pick(6)) {
        case 0:
          if (!answered_.empty()) answer(answered_[pick(static_cast<std::uint32_t>(answered_.size()))], true);
          break;
        case 1:
          answer(coin() ? PublishId{0} : (PublishId{1} << 62) + pick(1000), true);
          break;
        default:
          if (!outstanding_.empty()) answer(take_outstanding(), false);
          break;
      }
    }
    // Subscribe filters awaiting their SUBACK.
    for (const auto& s : h_.gw.subscriptions())
      if (s.upstream == UpstreamSubState::pending && coin())
        h_.gw.on_upstream_suback(s.filter, pick(5) == 0 ? std::nullopt : std::optional<QoS>(qos()), h_.now);
  }

  struct Expected {
    QoS qos = 1;
    std::uint16_t msg_id = 0;
  };

  std::mt19937 rng_;
  Harness h_;
  std::optional<std::pair<Publish, Route>> last_publish_;  // the last QoS 1/2 one, for its DUP
  std::vector<std::uint8_t> last_payload_;
  std::vector<PublishId> outstanding_;  // given by the core, no result yet
  std::vector<PublishId> answered_;
  std::map<PublishId, Expected> expected_;
  std::uint64_t results_acknowledged_ = 0;
  static inline std::vector<std::uint8_t> bytes_;  // decode() keeps views into it
  std::string id_storage_;
  std::vector<std::uint8_t> payload_;
  bool mixed_ = false;
  std::vector<std::string> node_connects_, node_subscribes_;
  std::uint64_t own_deliveries_ = 0;  // messages a node's own connection brought to it
};

}  // namespace

TEST_CASE("randomized datagram sequences keep every invariant") {
  // 25: a PUBACK from a node that is not awake emptied its outbox without releasing it.
  for (std::uint32_t seed : {1u, 2u, 3u, 4u, 5u, 6u, 7u, 8u, 25u}) {
    CAPTURE(seed);
    RandomTrafficDriver f(seed);
    for (int i = 0; i < 20000; ++i) f.step();
    auto& h = f.harness();
    // The walk reached the interesting places, not only the error paths.
    CHECK(h.gw.counter(Counter::publishes_up) > 20);
    CHECK(h.gw.counter(Counter::publishes_down) > 20);
    CHECK(h.gw.counter(Counter::wills_published) > 0);
    CHECK(h.gw.counter(Counter::retries_exhausted) > 0);
    CHECK(h.gw.counter(Counter::buffer_full) + h.gw.counter(Counter::buffer_dropped_qos0) > 0);
    CHECK(h.gw.counter(Counter::stale_upstream_ack) > 0);
    CHECK(h.gw.counter(Counter::upstream_congested) > 0);
    CHECK(h.gw.counter(Counter::duplicate_publishes) > 0);
    CHECK(f.results_acknowledged() > 20);
    MESSAGE("seed " << seed << ": up " << h.gw.counter(Counter::publishes_up) << " down "
                    << h.gw.counter(Counter::publishes_down) << " sessions " << h.gw.session_count()
                    << " acknowledged results " << f.results_acknowledged() << " stale "
                    << h.gw.counter(Counter::stale_upstream_ack) << " congested "
                    << h.gw.counter(Counter::upstream_congested) << " dup "
                    << h.gw.counter(Counter::duplicate_publishes));
    // Let every timer run out: all sessions end up lost/removed, nothing is left in flight.
    f.answer_all();
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

TEST_CASE("randomized: mixed mode, some nodes on their own connections, keeps every invariant") {
  // A walk reaches a delivery on a node's own connection only after that node's CONNECT, the
  // broker's CONNACK and a granted SUBSCRIBE came in the right order, so one seed may reach none:
  // the seeds together must.
  std::uint64_t own_deliveries = 0;
  for (std::uint32_t seed : {11u, 12u, 13u, 14u}) {
    CAPTURE(seed);
    RandomTrafficDriver f(seed, true);
    for (int i = 0; i < 20000; ++i) f.step();
    auto& h = f.harness();
    CHECK(h.gw.counter(Counter::publishes_up) > 20);
    CHECK(h.gw.counter(Counter::publishes_down) > 5);
    own_deliveries += f.own_deliveries();
    MESSAGE("mixed seed " << seed << ": up " << h.gw.counter(Counter::publishes_up) << " down "
                          << h.gw.counter(Counter::publishes_down) << " on own connections "
                          << f.own_deliveries() << " sessions " << h.gw.session_count());
    f.answer_all();
    for (int i = 0; i < 300; ++i) h.advance(Millis{30000});
    CHECK(h.gw.invariant_violations().empty());
  }
  CHECK(own_deliveries > 5);
}
