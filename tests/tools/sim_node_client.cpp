// NodeClient against scripted gateway replies, byte for byte: every datagram the node sends is
// compared with the exact octets the protocol (and tests/data/mqttsn-vectors.txt) prescribes.
#include <doctest/doctest.h>

#include "sim_test_util.hpp"
#include "tools/sim/node_client.hpp"

using mqttsn::Millis;
using mqttsn::ReturnCode;
using mqttsn::sim::Event;
using mqttsn::sim::EventKind;
using mqttsn::sim::NodeClient;
using mqttsn::sim::NodeConfig;
using mqttsn::sim::TopicRef;
using sim_test::hex;
using sim_test::text;
using sim_test::to_hex;

namespace {

NodeConfig config(std::string id = "node42") {
  NodeConfig c;
  c.client_id = std::move(id);
  c.keep_alive_s = 30;
  c.t_retry = Millis(10000);
  c.n_retry = 2;
  return c;
}

struct Harness {
  NodeClient node;
  Millis now{1000};
  std::vector<Event> seen;

  explicit Harness(NodeConfig c = config()) : node(std::move(c)) {}

  // Everything the node sent since the last call, as hex lines.
  std::vector<std::string> sent() {
    std::vector<std::string> out;
    for (auto& d : node.take_datagrams()) out.push_back(to_hex(d.bytes));
    return out;
  }
  std::string one_sent() {
    auto s = sent();
    REQUIRE(s.size() == 1);
    return s[0];
  }
  void gw(std::string_view bytes) { node.on_datagram(hex(bytes), now); }
  void advance(long ms) {
    now += Millis(ms);
    node.on_tick(now);
  }
  std::vector<Event> events() {
    auto e = node.take_events();
    seen.insert(seen.end(), e.begin(), e.end());
    return e;
  }
  Event one_event(EventKind k) {
    auto e = events();
    REQUIRE(e.size() == 1);
    CHECK(to_string(e[0].kind) == std::string(to_string(k)));
    if (e[0].kind == EventKind::failure) MESSAGE("failure: " << e[0].what);
    return e[0];
  }
  void connect_plain() {
    node.connect(now);
    sent();
    gw("03 05 00");
    events();
    REQUIRE(node.state() == NodeClient::State::active);
  }
};

}  // namespace

TEST_CASE("connect with a will answers WILLTOPICREQ and WILLMSGREQ, then CONNACK") {
  auto c = config();
  c.will = mqttsn::sim::WillConfig{"status/node42", "offline", 1, true};
  Harness h(c);
  h.node.connect(h.now);
  CHECK(h.one_sent() == "0C 04 0C 01 00 1E 6E 6F 64 65 34 32");  // sn_connect_will_clean
  CHECK(h.node.state() == NodeClient::State::connecting);
  h.gw("02 06");
  CHECK(h.one_sent() == "10 07 30 73 74 61 74 75 73 2F 6E 6F 64 65 34 32");  // sn_willtopic_qos1_retain
  h.gw("02 08");
  CHECK(h.one_sent() == "09 09 6F 66 66 6C 69 6E 65");  // sn_willmsg
  CHECK(h.events().empty());
  h.gw("03 05 00");
  h.one_event(EventKind::connected);
  CHECK(h.node.state() == NodeClient::State::active);
}

TEST_CASE("connect without a will but prompted anyway sends the empty WILLTOPIC") {
  Harness h;
  h.node.connect(h.now, /*clean_session=*/false);
  CHECK(h.one_sent() == "0C 04 00 01 00 1E 6E 6F 64 65 34 32");
  h.gw("02 06");
  CHECK(h.one_sent() == "02 07");
}

TEST_CASE("CONNACK with an error code is a failure") {
  Harness h;
  h.node.connect(h.now);
  h.sent();
  h.gw("03 05 03");
  auto e = h.one_event(EventKind::failure);
  CHECK(e.rc == ReturnCode::not_supported);
  CHECK(e.request == mqttsn::MsgType::connect);
  CHECK(h.node.state() == NodeClient::State::disconnected);
}

TEST_CASE("an unanswered CONNECT is resent after T_RETRY and fails after N_RETRY") {
  Harness h;
  h.node.connect(h.now);
  auto first = h.one_sent();
  REQUIRE(h.node.next_deadline() == h.now + Millis(10000));
  h.advance(9999);
  CHECK(h.sent().empty());
  h.advance(1);
  CHECK(h.one_sent() == first);
  h.advance(10000);
  CHECK(h.one_sent() == first);
  CHECK(h.node.stats().retransmissions == 2);
  h.advance(10000);  // n_retry = 2 exhausted
  CHECK(h.sent().empty());
  auto e = h.one_event(EventKind::failure);
  CHECK(e.what.find("no reply") != std::string::npos);
  CHECK(h.node.state() == NodeClient::State::lost);
}

TEST_CASE("register a topic") {
  Harness h;
  h.connect_plain();
  h.node.register_topic("sensors/temp", h.now);
  CHECK(h.one_sent() == "12 0A 00 00 00 01 73 65 6E 73 6F 72 73 2F 74 65 6D 70");  // sn_register_client
  h.gw("07 0B 00 01 00 02 00");                                                    // wrong MsgId: ignored
  CHECK(h.events().empty());
  h.gw("07 0B 00 01 00 01 00");  // sn_regack_accepted
  auto e = h.one_event(EventKind::registered);
  CHECK(e.topic == "sensors/temp");
  CHECK(e.topic_id == 1);
  CHECK(h.node.topic_id("sensors/temp") == 1);
}

TEST_CASE("REGACK congestion is a failure and the publish behind it does not go out") {
  Harness h;
  h.connect_plain();
  h.node.publish(TopicRef::named("sensors/temp"), text("22"), 1, false, h.now);
  CHECK(h.one_sent() == "12 0A 00 00 00 01 73 65 6E 73 6F 72 73 2F 74 65 6D 70");
  h.gw("07 0B 00 00 00 01 01");
  auto e = h.one_event(EventKind::failure);
  CHECK(e.rc == ReturnCode::congestion);
  CHECK(h.sent().empty());
  CHECK(h.node.idle());
}

TEST_CASE("publish QoS 1 registers first, retransmits with DUP and the same MsgId, then completes") {
  Harness h;
  h.connect_plain();
  h.node.publish(TopicRef::named("sensors/temp"), text("22"), 1, false, h.now);
  h.sent();
  h.gw("07 0B 00 01 00 01 00");
  h.one_event(EventKind::registered);
  CHECK(h.one_sent() == "09 0C 20 00 01 00 02 32 32");  // sn_publish_qos1_normal
  h.advance(10000);
  CHECK(h.one_sent() == "09 0C A0 00 01 00 02 32 32");  // sn_publish_qos1_dup
  h.gw("07 0D 00 01 00 02 00");                         // sn_puback_accepted
  auto e = h.one_event(EventKind::published);
  CHECK(e.msg_id == 2);
  CHECK(e.qos == 1);
  CHECK(e.payload == text("22"));  // what mqttsn-sim --ack-log records as acknowledged
  CHECK(h.node.idle());
  h.gw("07 0D 00 01 00 02 00");  // a late duplicate PUBACK is only counted
  CHECK(h.events().empty());
  CHECK(h.node.stats().stray_replies == 1);
}

TEST_CASE("only one QoS 1 PUBLISH is outstanding, the next waits for the PUBACK") {
  Harness h;
  h.connect_plain();
  h.node.register_topic("t", h.now);
  h.sent();
  h.gw("07 0B 00 07 00 01 00");
  h.events();
  h.node.publish(TopicRef::named("t"), text("a"), 1, false, h.now);
  h.node.publish(TopicRef::named("t"), text("b"), 1, false, h.now);
  CHECK(h.one_sent() == "08 0C 20 00 07 00 02 61");
  h.gw("07 0D 00 07 00 02 00");
  CHECK(h.one_sent() == "08 0C 20 00 07 00 03 62");
  h.one_event(EventKind::published);
}

TEST_CASE("PUBACK invalid topic id fails the publish and forgets the id, so the next one registers again") {
  Harness h;
  h.connect_plain();
  h.node.register_topic("t", h.now);
  h.sent();
  h.gw("07 0B 00 07 00 01 00");
  h.events();
  h.node.publish(TopicRef::named("t"), text("a"), 1, false, h.now);
  h.sent();
  h.gw("07 0D 00 07 00 02 02");
  CHECK(h.one_event(EventKind::failure).rc == ReturnCode::invalid_topic_id);
  CHECK(!h.node.topic_id("t"));
  h.node.publish(TopicRef::named("t"), text("a"), 1, false, h.now);
  CHECK(h.one_sent() == "07 0A 00 00 00 03 74");
}

TEST_CASE("publish QoS 2: PUBREC -> PUBREL (resent without DUP) -> PUBCOMP") {
  Harness h;
  h.connect_plain();
  h.node.register_topic("x", h.now);
  h.sent();
  h.gw("07 0B 00 01 00 01 00");
  h.events();
  h.node.publish(TopicRef::named("x"), text("x"), 2, true, h.now);
  h.node.publish(TopicRef::named("x"), text("y"), 2, false, h.now);  // queued behind
  CHECK(h.one_sent() == "08 0C 50 00 01 00 02 78");                  // like sn_publish_qos2_retain
  h.advance(10000);
  CHECK(h.one_sent() == "08 0C D0 00 01 00 02 78");
  h.gw("04 0F 00 02");
  CHECK(h.one_sent() == "04 10 00 02");
  h.advance(10000);
  CHECK(h.one_sent() == "04 10 00 02");
  CHECK(h.events().empty());
  h.gw("04 0E 00 02");
  auto e = h.one_event(EventKind::published);
  CHECK(e.qos == 2);
  CHECK(e.payload == text("x"));
  CHECK(h.one_sent() == "08 0C 40 00 01 00 03 79");
}

TEST_CASE("publish QoS 0 goes out with MsgId 0 and a later PUBACK error is a failure") {
  Harness h;
  h.connect_plain();
  h.node.register_topic("sensors/temp", h.now);
  h.sent();
  h.gw("07 0B 00 01 00 01 00");
  h.events();
  h.node.publish(TopicRef::named("sensors/temp"), text("21.5"), 0, false, h.now);
  CHECK(h.one_sent() == "0B 0C 00 00 01 00 00 32 31 2E 35");  // sn_publish_qos0_normal
  h.one_event(EventKind::published);
  CHECK(h.node.idle());
  h.gw("07 0D 00 01 00 00 02");
  auto e = h.one_event(EventKind::failure);
  CHECK(e.rc == ReturnCode::invalid_topic_id);
  CHECK(e.topic == "sensors/temp");
}

TEST_CASE("publish QoS -1 with a predefined id or a short name needs no connection") {
  Harness h;
  h.node.publish(TopicRef::predefined(0x0010), text("ON"), -1, false, h.now);
  CHECK(h.one_sent() == "09 0C 61 00 10 00 00 4F 4E");  // sn_publish_qosm1_predefined
  h.node.publish(TopicRef::short_name("ab"), text("1"), -1, false, h.now);
  CHECK(h.one_sent() == "08 0C 62 61 62 00 00 31");  // sn_publish_qosm1_short
  CHECK(h.events().size() == 2);
  CHECK(h.node.state() == NodeClient::State::disconnected);
  h.node.publish(TopicRef::named("a/b"), text("1"), -1, false, h.now);
  CHECK(h.sent().empty());
  CHECK(h.one_event(EventKind::failure).what.find("QoS -1") != std::string::npos);
}

TEST_CASE("publishing while not connected is a failure, not a silent drop") {
  Harness h;
  h.node.publish(TopicRef::named("a"), text("1"), 1, false, h.now);
  CHECK(h.sent().empty());
  CHECK(h.one_event(EventKind::failure).what.find("not connected") != std::string::npos);
}

TEST_CASE("subscribe with a wildcard, gateway REGISTER then PUBLISH QoS 1 is acknowledged and delivered") {
  Harness h;
  h.connect_plain();
  h.node.subscribe(TopicRef::named("cmd/node3/#"), 1, h.now);
  CHECK(h.one_sent() == "10 12 20 00 01 63 6D 64 2F 6E 6F 64 65 33 2F 23");
  h.advance(10000);  // retransmitted SUBSCRIBE carries DUP
  CHECK(h.one_sent() == "10 12 A0 00 01 63 6D 64 2F 6E 6F 64 65 33 2F 23");
  h.gw("08 13 20 00 00 00 01 00");
  auto s = h.one_event(EventKind::subscribed);
  CHECK(s.qos == 1);
  CHECK(s.topic == "cmd/node3/#");
  h.gw("13 0A 00 05 01 02 'cmd/node3/led'");
  CHECK(h.one_sent() == "07 0B 00 05 01 02 00");
  CHECK(h.one_event(EventKind::gateway_register).topic == "cmd/node3/led");
  h.gw("09 0C 20 00 05 01 03 'on'");
  CHECK(h.one_sent() == "07 0D 00 05 01 03 00");
  auto m = h.one_event(EventKind::message);
  CHECK(m.topic == "cmd/node3/led");
  CHECK(std::string(m.payload.begin(), m.payload.end()) == "on");
  CHECK(m.qos == 1);
}

TEST_CASE("a gateway PUBLISH at QoS 2 is delivered once: DUP gets PUBREC again, PUBREL gets PUBCOMP") {
  Harness h;
  h.connect_plain();
  h.gw("09 0A 00 05 00 01 'c/x'");
  h.sent();
  h.events();
  h.gw("08 0C 40 00 05 00 09 'z'");
  CHECK(h.one_sent() == "04 0F 00 09");
  CHECK(h.one_event(EventKind::message).qos == 2);
  h.gw("08 0C C0 00 05 00 09 'z'");
  CHECK(h.one_sent() == "04 0F 00 09");
  CHECK(h.events().empty());
  h.gw("04 10 00 09");
  CHECK(h.one_sent() == "04 0E 00 09");
}

TEST_CASE("a plain-name subscription learns its topic id from the SUBACK") {
  Harness h;
  h.connect_plain();
  h.node.subscribe(TopicRef::named("cmd/n1"), 0, h.now);
  CHECK(h.one_sent() == "0B 12 00 00 01 63 6D 64 2F 6E 31");
  h.gw("08 13 00 00 0C 00 01 00");
  CHECK(h.one_event(EventKind::subscribed).topic_id == 0x0C);
  h.gw("09 0C 00 00 0C 00 00 'hi'");
  CHECK(h.sent().empty());
  CHECK(h.one_event(EventKind::message).topic == "cmd/n1");
}

TEST_CASE("SUBACK with an error code and a PUBLISH with an unknown topic id are failures") {
  Harness h;
  h.connect_plain();
  h.node.subscribe(TopicRef::predefined(0x0020), 1, h.now);
  CHECK(h.one_sent() == "07 12 21 00 01 00 20");
  h.gw("08 13 00 00 00 00 01 02");
  CHECK(h.one_event(EventKind::failure).rc == ReturnCode::invalid_topic_id);
  h.gw("08 0C 20 00 63 00 04 'x'");
  CHECK(h.one_sent() == "07 0D 00 63 00 04 02");
  CHECK(h.one_event(EventKind::failure).what.find("unknown topic id") != std::string::npos);
}

TEST_CASE("unsubscribe") {
  Harness h;
  h.connect_plain();
  h.node.unsubscribe(TopicRef::short_name("t1"), h.now);
  CHECK(h.one_sent() == "07 14 02 00 01 74 31");
  h.gw("04 15 00 01");
  CHECK(h.one_event(EventKind::unsubscribed).topic == "t1");
}

TEST_CASE("sleep, then wake to collect buffered messages until PINGRESP") {
  Harness h;
  h.connect_plain();
  h.gw("09 0A 00 05 00 01 'c/1'");
  h.sent();
  h.events();
  h.node.sleep(300, h.now);
  CHECK(h.one_sent() == "04 18 01 2C");
  CHECK(h.node.state() == NodeClient::State::going_to_sleep);
  h.gw("02 18");
  h.one_event(EventKind::asleep);
  CHECK(h.node.state() == NodeClient::State::asleep);
  CHECK(!h.node.next_deadline());  // no keep-alive PINGREQ while asleep
  h.advance(60000);
  CHECK(h.sent().empty());
  h.node.wake(h.now);
  CHECK(h.one_sent() == "08 16 6E 6F 64 65 34 32");
  CHECK(h.node.state() == NodeClient::State::awake);
  h.gw("08 0C 20 00 05 00 07 'A'");
  h.gw("08 0C 20 00 05 00 08 'B'");
  auto acks = h.sent();
  CHECK(acks == std::vector<std::string>{"07 0D 00 05 00 07 00", "07 0D 00 05 00 08 00"});
  auto msgs = h.events();
  REQUIRE(msgs.size() == 2);
  CHECK(msgs[0].payload == text("A"));
  CHECK(msgs[1].payload == text("B"));
  h.gw("02 17");
  h.one_event(EventKind::awake_done);
  CHECK(h.node.state() == NodeClient::State::asleep);
  h.gw("08 0C 20 00 05 00 09 'C'");  // the gateway must buffer while we sleep
  h.sent();
  auto e = h.events();
  REQUIRE(e.size() == 2);
  CHECK(e[0].kind == EventKind::failure);
  h.node.connect(h.now, false);  // to publish again, a sleeper connects
  CHECK(h.one_sent() == "0C 04 00 01 00 1E 6E 6F 64 65 34 32");
}

TEST_CASE("keep-alive: PINGREQ after the keep-alive period of silence, PINGRESP completes it") {
  Harness h;
  h.connect_plain();
  CHECK(h.node.next_deadline() == h.now + Millis(30000));
  h.advance(29999);
  CHECK(h.sent().empty());
  h.advance(1);
  CHECK(h.one_sent() == "02 16");
  h.gw("02 17");
  h.one_event(EventKind::pong);
  h.gw("02 16");  // the gateway may ping us too
  CHECK(h.one_sent() == "02 17");
}

TEST_CASE("disconnect, and an unsolicited DISCONNECT from the gateway") {
  Harness h;
  h.connect_plain();
  h.node.disconnect(h.now);
  CHECK(h.one_sent() == "02 18");
  h.gw("02 18");
  CHECK(!h.one_event(EventKind::disconnected).unsolicited);
  h.connect_plain();
  h.node.ping(h.now);
  h.sent();
  h.gw("02 18");
  auto e = h.events();
  REQUIRE(e.size() == 2);
  CHECK(e[0].kind == EventKind::failure);
  CHECK(e[1].unsolicited);
  CHECK(h.node.state() == NodeClient::State::disconnected);
}

TEST_CASE("SEARCHGW is a broadcast, GWINFO completes it") {
  Harness h;
  h.node.search_gateway(0, h.now);
  auto d = h.node.take_datagrams();
  REQUIRE(d.size() == 1);
  CHECK(d[0].broadcast);
  CHECK(to_hex(d[0].bytes) == "03 01 00");
  h.gw("03 02 01");
  CHECK(h.one_event(EventKind::gateway_found).gw_id == 1);
}

TEST_CASE("garbage from the gateway is counted and reported, never a crash") {
  Harness h;
  h.connect_plain();
  for (auto g : {"", "00", "05 0C", "03 03 00", "FF 0C 00", "07 04 04 01 00 3C 6E"}) h.gw(g);
  CHECK(h.node.stats().decode_errors == 5);
  auto e = h.events();
  CHECK(e.size() == 6);  // 5 undecodable + 1 unexpected CONNECT
  for (auto& ev : e) CHECK(ev.kind == EventKind::failure);
  CHECK(h.node.state() == NodeClient::State::active);
}
