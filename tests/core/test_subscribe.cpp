// SUBSCRIBE / UNSUBSCRIBE, upstream reference counts and the subscription tree (spec 4.6, 4.7).
#include "harness.hpp"

using namespace mqttsn;
using namespace mqttsn::test;

TEST_CASE("wildcard SUBSCRIBE: upstream subscribe, SUBACK waits for the broker, topic id 0x0000") {
  Harness h;
  h.connect(1, "c1");
  h.recv(1, "13 12 20 00 04 73 65 6E 73 6F 72 73 2F 2B 2F 74 65 6D 70");  // QoS 1 "sensors/+/temp"
  CHECK(h.take() == Events{"subscribe sensors/+/temp q1"});
  auto subs = h.gw.subscriptions();
  REQUIRE(subs.size() == 1);
  CHECK(subs[0].upstream == UpstreamSubState::pending);
  h.gw.on_upstream_suback("sensors/+/temp", QoS{1}, h.now);
  CHECK(h.take() == Events{"send " + addr(1) + " 08 13 20 00 00 00 04 00"});
  h.check_invariants();
}

TEST_CASE("SUBSCRIBE by plain name assigns a topic id, by predefined id, by short name") {
  Harness h;
  h.gw.set_predefined_topics({{0x10, "dev/in", std::nullopt}});
  h.connect(1, "c1");
  h.recv(1, "0F 12 00 00 0A 63 6D 64 2F 6E 6F 64 65 34 32");  // QoS 0 "cmd/node42"
  h.gw.on_upstream_suback("cmd/node42", QoS{0}, h.now);
  h.recv(1, "07 12 01 00 05 00 10");  // predefined 0x0010
  h.gw.on_upstream_suback("dev/in", QoS{0}, h.now);
  h.recv(1, "07 12 42 00 06 61 62");  // QoS 2 short "ab"
  h.gw.on_upstream_suback("ab", QoS{2}, h.now);
  CHECK(h.take() == Events{"subscribe cmd/node42 q0", "send " + addr(1) + " 08 13 00 00 01 00 0A 00",
                           "subscribe dev/in q0", "send " + addr(1) + " 08 13 00 00 10 00 05 00",
                           "subscribe ab q2", "send " + addr(1) + " 08 13 40 00 00 00 06 00"});
  // Delivery uses the id kind the client knows.
  h.upstream("cmd/node42", "1", 0);
  h.upstream("dev/in", "2", 0);
  h.upstream("ab", "3", 0);
  CHECK(h.take() == Events{"send " + addr(1) + " 08 0C 00 00 01 00 00 31",
                           "send " + addr(1) + " 08 0C 01 00 10 00 00 32",
                           "send " + addr(1) + " 08 0C 02 61 62 00 00 33"});
  auto m = h.gw.topic_mappings();
  REQUIRE(m.size() == 3);  // global predefined, c1's normal id, c1's short name
  CHECK(m[0].client_id == "*");
  CHECK(m[1].kind == TopicKind::normal);
  CHECK(m[2].kind == TopicKind::short_name);
  h.check_invariants();
}

TEST_CASE("SUBSCRIBE to an unknown predefined id: SUBACK 0x02 with topic id 0") {
  Harness h;
  h.connect(1, "c1");
  h.recv(1, "07 12 01 00 05 00 10");
  CHECK(h.take() == Events{"send " + addr(1) + " 08 13 00 00 00 00 05 02"});
}

TEST_CASE("one upstream subscribe per filter, unsubscribe when the last client leaves") {
  Harness h;
  h.connect(1, "c1");
  h.connect(2, "c2");
  h.subscribe(1, "a/+", 1);
  h.recv(2, "08 12 00 00 02 61 2F 2B");  // c2 QoS 0 "a/+": granted at once, no upstream call
  CHECK(h.take() == Events{"send " + addr(2) + " 08 13 00 00 00 00 02 00"});
  auto subs = h.gw.subscriptions();
  REQUIRE(subs.size() == 1);
  CHECK(subs[0].clients == 2);
  h.recv(1, "08 14 00 00 03 61 2F 2B");  // UNSUBSCRIBE c1
  CHECK(h.take() == Events{"send " + addr(1) + " 04 15 00 03"});
  h.recv(2, "08 14 00 00 04 61 2F 2B");
  CHECK(h.take() == Events{"unsubscribe a/+", "send " + addr(2) + " 04 15 00 04"});
  CHECK(h.gw.subscriptions().empty());
  h.recv(2, "08 14 00 00 05 61 2F 2B");  // not subscribed: still UNSUBACK
  CHECK(h.take() == Events{"send " + addr(2) + " 04 15 00 05"});
}

TEST_CASE("a client asking a higher QoS re-subscribes upstream at the max, grant capped by configuration") {
  auto o = test_options();
  o.max_granted_qos = 1;
  Harness h(o);
  h.connect(1, "c1");
  h.connect(2, "c2");
  h.subscribe(1, "x", 0);
  h.recv(2, "06 12 40 00 09 78");  // QoS 2 "x" -> capped to 1 -> upgrade upstream
  CHECK(h.take() == Events{"subscribe x q1"});
  h.gw.on_upstream_suback("x", QoS{1}, h.now);
  CHECK(h.take() == Events{"send " + addr(2) + " 08 13 20 00 01 00 09 00"});
  h.upstream("x", "m", 2);
  CHECK(h.take() == Events{"send " + addr(1) + " 08 0C 00 00 01 00 00 6D",
                           "send " + addr(2) + " 08 0C 20 00 01 00 01 6D"});
}

TEST_CASE("a broker granting less than asked (no QoS 2 there) is passed on in the node's SUBACK") {
  Harness h;  // no configured cap: the grant is the broker's word alone
  h.connect(1, "c1");
  h.recv(1, "06 12 40 00 0B 79");  // QoS 2 "y"
  CHECK(h.take() == Events{"subscribe y q2"});
  h.gw.on_upstream_suback("y", QoS{1}, h.now);
  CHECK(h.take() == Events{"send " + addr(1) + " 08 13 20 00 01 00 0B 00"});
  // What the broker sends at QoS 1 goes down at QoS 1.
  h.upstream("y", "m", 1);
  CHECK(h.take() == Events{"send " + addr(1) + " 08 0C 20 00 01 00 01 6D"});
  h.check_invariants();
}

TEST_CASE("a refused upstream subscription becomes SUBACK not supported") {
  Harness h;
  h.connect(1, "c1");
  h.recv(1, "08 12 20 00 07 6E 2F 23");  // "n/#"
  h.gw.on_upstream_suback("n/#", std::nullopt, h.now);
  CHECK(h.take() == Events{"subscribe n/# q1", "send " + addr(1) + " 08 13 00 00 00 00 07 03"});
  CHECK(h.gw.subscriptions().empty());
  CHECK(h.gw.counter(Counter::subscribe_refused) == 1);
}

TEST_CASE("a DUP SUBSCRIBE while the broker has not answered gets one SUBACK") {
  Harness h;
  h.connect(1, "c1");
  h.recv(1, "08 12 20 00 08 61 2F 23");
  h.recv(1, "08 12 A0 00 08 61 2F 23");
  h.gw.on_upstream_suback("a/#", QoS{1}, h.now);
  CHECK(h.take() == Events{"subscribe a/# q1", "send " + addr(1) + " 08 13 20 00 00 00 08 00"});
}

TEST_CASE("matching: levels, +, #, parent of #, and $ topics not matched by leading wildcards") {
  Harness h;
  h.connect(1, "c1");
  h.connect(2, "c2");
  h.connect(3, "c3");
  h.subscribe(1, "#", 0);
  h.subscribe(2, "+/b", 0);
  h.subscribe(3, "a/#", 0);
  // Give every client an id for the topics used so no REGISTER shows up.
  for (int n = 1; n <= 3; ++n) {
    h.reg(n, "a/b");
    h.reg(n, "a", 2);
    h.reg(n, "$SYS/b", 3);
  }
  h.upstream("a/b", "1", 0);
  CHECK(h.take().size() == 3);
  h.upstream("a", "2", 0);  // "a/#" matches "a"; "+/b" does not
  CHECK(h.take() == Events{"send " + addr(1) + " 08 0C 00 00 02 00 00 32",
                           "send " + addr(3) + " 08 0C 00 00 02 00 00 32"});
  h.upstream("$SYS/b", "3", 0);
  CHECK(h.take().empty());
  h.upstream("c/d/e", "4", 0);  // only "#": needs a REGISTER for c1
  CHECK(h.take() == Events{"send " + addr(1) + " 0B 0A 00 04 00 01 63 2F 64 2F 65"});
}

TEST_CASE("a client matching two of its filters gets one copy at the higher QoS") {
  Harness h;
  h.connect(1, "c1");
  h.reg(1, "a/b");
  h.subscribe(1, "a/#", 0, 2);
  h.subscribe(1, "a/b", 1, 3);
  h.upstream("a/b", "z", 1);
  CHECK(h.take() == Events{"send " + addr(1) + " 08 0C 20 00 01 00 01 7A"});
}

TEST_CASE("invalid filters are refused") {
  Harness h;
  h.connect(1, "c1");
  h.recv(1, "08 12 00 00 01 61 23 62");  // "a#b"
  h.recv(1, "08 12 00 00 02 23 2F 61");  // "#/a"
  h.recv(1, "07 12 02 00 03 61 23");     // short "a#"
  CHECK(h.take() == Events{"send " + addr(1) + " 08 13 00 00 00 00 01 03",
                           "send " + addr(1) + " 08 13 00 00 00 00 02 03",
                           "send " + addr(1) + " 08 13 00 00 00 00 03 03"});
}
