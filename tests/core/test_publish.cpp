// PUBLISH in both directions at every QoS (spec 4.5, 4.7).
#include "harness.hpp"

using namespace mqttsn;
using namespace mqttsn::test;

TEST_CASE("QoS -1 from a node that never connected: predefined id and short name, published at QoS -1") {
  Harness h;
  h.gw.set_predefined_topics({{0x10, "dev/cmd", std::nullopt}});
  h.recv(7, "09 0C 61 00 10 00 00 4F 4E");
  h.recv(7, "08 0C 62 61 62 00 00 31");
  CHECK(h.take() == Events{"publish dev/cmd q-1 r0 4F 4E", "publish ab q-1 r0 31"});
  CHECK(h.gw.counter(Counter::qosm1_publishes) == 2);
  CHECK(h.gw.clients().empty());
}

TEST_CASE("QoS -1 with an unknown predefined id or a normal id is dropped and counted, never answered") {
  Harness h;
  h.recv(7, "09 0C 61 00 11 00 00 4F 4E");
  h.recv(7, "09 0C 60 00 01 00 00 4F 4E");  // normal id at QoS -1: malformed per the codec
  CHECK(h.take().empty());
  CHECK(h.gw.counter(Counter::unknown_topic_id) == 1);
  CHECK(h.gw.counter(Counter::malformed) == 1);
}

TEST_CASE("QoS 0 with a registered id is published, an unknown id gets PUBACK 0x02 and nothing upstream") {
  Harness h;
  h.connect(1, "c1");
  h.reg(1, "sensors/temp");
  h.recv(1, "0B 0C 00 00 01 00 00 32 31 2E 35");
  CHECK(h.take() == Events{"publish sensors/temp q0 r0 32 31 2E 35"});
  h.recv(1, "0B 0C 00 00 09 00 00 32 31 2E 35");
  CHECK(h.take() == Events{"send " + addr(1) + " 07 0D 00 09 00 00 02"});
  CHECK(h.gw.counter(Counter::unknown_topic_id) == 1);
}

TEST_CASE("QoS 0 short name with retain, QoS 1 predefined id") {
  Harness h;
  h.gw.set_predefined_topics({{0x20, "bin/data", std::nullopt}});
  h.connect(1, "c1");
  h.recv(1, "09 0C 12 74 31 00 00 6F 6E");
  h.recv(1, "0B 0C 21 00 20 00 07 00 11 7E FF");
  CHECK(h.take() == Events{"publish t1 q0 r1 6F 6E", "publish bin/data q1 r0 00 11 7E FF",
                           "send " + addr(1) + " 07 0D 00 20 00 07 00"});
}

TEST_CASE("QoS 1: the PUBACK waits for the later result, nothing is answered during the publish") {
  Harness h;
  h.connect(1, "c1");
  h.reg(1, "a");
  h.out.auto_result = std::nullopt;
  h.recv(1, "09 0C 20 00 01 00 02 32 32");
  CHECK(h.take() == Events{"publish a q1 r0 32 32"});
  REQUIRE(h.out.published.size() == 1);
  CHECK(h.out.published[0].id != 0);
  CHECK(h.out.published[0].client_id == "c1");
  REQUIRE(h.out.ids.size() == 1);
  CHECK(h.out.ids[0] == h.out.published[0].id);
  h.recv(1, "09 0C A0 00 01 00 02 32 32");  // DUP retransmission while the result is awaited
  CHECK(h.take().empty());
  CHECK(h.gw.counter(Counter::duplicate_publishes) == 1);
  h.advance_s(5);
  CHECK(h.take().empty());
  h.check_invariants();
  h.gw.on_publish_result(h.out.last_id, PublishResult::delivered, h.now);
  CHECK(h.take() == Events{"send " + addr(1) + " 07 0D 00 01 00 02 00"});
  h.gw.on_publish_result(h.out.last_id, PublishResult::delivered, h.now);  // answered already
  CHECK(h.take().empty());
  CHECK(h.gw.counter(Counter::stale_upstream_ack) == 1);
  CHECK(h.gw.counter(Counter::publishes_up) == 1);
  h.check_invariants();
}

TEST_CASE("QoS 1: kept and delivered both acknowledge, in the order the results come") {
  Harness h;
  h.connect(1, "c1");
  h.reg(1, "a");
  h.out.auto_result = std::nullopt;
  h.recv(1, "09 0C 20 00 01 00 02 32 32");
  h.recv(1, "09 0C 20 00 01 00 03 32 33");
  CHECK(h.take() == Events{"publish a q1 r0 32 32", "publish a q1 r0 32 33"});
  REQUIRE(h.out.ids.size() == 2);
  const PublishId first = h.out.ids[0], second = h.out.ids[1];
  CHECK(first != second);
  h.gw.on_publish_result(second, PublishResult::kept, h.now);
  CHECK(h.take() == Events{"send " + addr(1) + " 07 0D 00 01 00 03 00"});
  h.gw.on_publish_result(first, PublishResult::delivered, h.now);
  CHECK(h.take() == Events{"send " + addr(1) + " 07 0D 00 01 00 02 00"});
  CHECK(h.gw.counter(Counter::upstream_congested) == 0);
  CHECK(h.gw.counter(Counter::stale_upstream_ack) == 0);
  h.check_invariants();
}

TEST_CASE("QoS 1: congested is answered PUBACK congestion, and the node's retry is published again") {
  Harness h;
  h.connect(1, "c1");
  h.reg(1, "a");
  h.out.auto_result = std::nullopt;
  h.recv(1, "09 0C 20 00 01 00 04 32 32");
  CHECK(h.take() == Events{"publish a q1 r0 32 32"});
  const PublishId refused = h.out.last_id;
  h.gw.on_publish_result(refused, PublishResult::congested, h.now);
  CHECK(h.take() == Events{"send " + addr(1) + " 07 0D 00 01 00 04 01"});
  CHECK(h.gw.counter(Counter::upstream_congested) == 1);
  h.check_invariants();
  h.recv(1, "09 0C A0 00 01 00 04 32 32");  // the retry after T_WAIT (DUP set): a new publish
  CHECK(h.take() == Events{"publish a q1 r0 32 32"});
  CHECK(h.out.last_id != refused);
  CHECK(h.gw.counter(Counter::duplicate_publishes) == 0);
  h.gw.on_publish_result(refused, PublishResult::delivered, h.now);  // a stray second result
  CHECK(h.take().empty());
  CHECK(h.gw.counter(Counter::stale_upstream_ack) == 1);
  h.gw.on_publish_result(h.out.last_id, PublishResult::delivered, h.now);
  CHECK(h.take() == Events{"send " + addr(1) + " 07 0D 00 01 00 04 00"});
  h.check_invariants();
}

TEST_CASE("an upstream answering on its next turn: delivered, kept and congested at QoS 1 and 2") {
  Harness h;
  h.connect(1, "c1");
  h.reg(1, "a");
  h.recv(1, "09 0C 20 00 01 00 02 32 32");
  CHECK(h.take() == Events{"publish a q1 r0 32 32", "send " + addr(1) + " 07 0D 00 01 00 02 00"});
  h.out.auto_result = PublishResult::kept;
  h.recv(1, "08 0C 40 00 01 00 03 78");
  CHECK(h.take() == Events{"publish a q2 r0 78", "send " + addr(1) + " 04 0F 00 03"});
  h.out.auto_result = PublishResult::congested;
  h.recv(1, "09 0C 20 00 01 00 04 32 32");
  CHECK(h.take() == Events{"publish a q1 r0 32 32", "send " + addr(1) + " 07 0D 00 01 00 04 01"});
  h.recv(1, "08 0C 40 00 01 00 05 78");
  CHECK(h.take() == Events{"publish a q2 r0 78", "send " + addr(1) + " 07 0D 00 01 00 05 01"});
  // QoS 0 waits for nothing: no result, so a refusal upstream cannot come back as congestion.
  h.recv(1, "08 0C 00 00 01 00 00 31");
  CHECK(h.take() == Events{"publish a q0 r0 31"});
  CHECK(h.gw.counter(Counter::upstream_congested) == 2);
  CHECK(h.gw.counter(Counter::publishes_up) == 5);
  h.check_invariants();
}

TEST_CASE("QoS 0 and -1 publish with id 0: no result is awaited, and a result for 0 changes nothing") {
  Harness h;
  h.gw.set_predefined_topics({{0x10, "dev/cmd", std::nullopt}});
  h.out.auto_result = std::nullopt;
  h.recv(7, "09 0C 61 00 10 00 00 4F 4E");  // QoS -1 from a node without a session
  CHECK(h.take() == Events{"publish dev/cmd q-1 r0 4F 4E"});
  h.connect(1, "c1");
  h.reg(1, "a");
  h.recv(1, "08 0C 00 00 01 00 00 31");     // QoS 0
  h.recv(1, "09 0C 61 00 10 00 00 4F 4E");  // QoS -1 from a connected node
  CHECK(h.take() == Events{"publish a q0 r0 31", "publish dev/cmd q-1 r0 4F 4E"});
  REQUIRE(h.out.published.size() == 3);
  CHECK(h.out.published[0].id == 0);
  CHECK(h.out.published[0].client_id.empty());
  CHECK(h.out.published[1].id == 0);
  CHECK(h.out.published[1].client_id == "c1");
  CHECK(h.out.published[2].id == 0);
  CHECK(h.out.published[2].client_id == "c1");
  CHECK(h.out.ids.empty());
  h.gw.on_publish_result(0, PublishResult::congested, h.now);
  CHECK(h.take().empty());
  CHECK(h.gw.counter(Counter::stale_upstream_ack) == 1);
  CHECK(h.gw.counter(Counter::upstream_congested) == 0);
  h.check_invariants();
}

TEST_CASE("QoS 2: PUBREC, DUP not published twice, PUBREL -> PUBCOMP") {
  Harness h;
  h.connect(1, "c1");
  h.reg(1, "q2");
  h.recv(1, "08 0C 50 00 01 00 03 78");
  CHECK(h.take() == Events{"publish q2 q2 r1 78", "send " + addr(1) + " 04 0F 00 03"});
  h.recv(1, "08 0C D0 00 01 00 03 78");  // DUP: PUBREC again, nothing upstream
  CHECK(h.take() == Events{"send " + addr(1) + " 04 0F 00 03"});
  h.recv(1, "04 10 00 03");
  CHECK(h.take() == Events{"send " + addr(1) + " 04 0E 00 03"});
  h.recv(1, "04 10 00 03");  // repeated PUBREL: PUBCOMP again
  CHECK(h.take() == Events{"send " + addr(1) + " 04 0E 00 03"});
  h.recv(1, "08 0C 40 00 01 00 03 79");  // the msg id is free again: a new message
  CHECK(h.take() == Events{"publish q2 q2 r0 79", "send " + addr(1) + " 04 0F 00 03"});
}

TEST_CASE("QoS 2: PUBREC only after the result, a DUP before or after it is not published twice") {
  Harness h;
  h.connect(1, "c1");
  h.reg(1, "q2");
  h.out.auto_result = std::nullopt;
  h.recv(1, "08 0C 40 00 01 00 05 78");
  CHECK(h.take() == Events{"publish q2 q2 r0 78"});
  h.recv(1, "08 0C C0 00 01 00 05 78");  // DUP while the result is awaited: no answer yet
  CHECK(h.take().empty());
  h.recv(1, "04 10 00 05");  // PUBREL before our PUBREC: ignored
  CHECK(h.take().empty());
  h.check_invariants();
  h.gw.on_publish_result(h.out.last_id, PublishResult::kept, h.now);
  CHECK(h.take() == Events{"send " + addr(1) + " 04 0F 00 05"});
  h.recv(1, "08 0C C0 00 01 00 05 78");  // DUP after PUBREC: PUBREC again, nothing upstream
  CHECK(h.take() == Events{"send " + addr(1) + " 04 0F 00 05"});
  CHECK(h.gw.counter(Counter::duplicate_publishes) == 2);
  CHECK(h.out.published.size() == 1);
  h.recv(1, "04 10 00 05");
  CHECK(h.take() == Events{"send " + addr(1) + " 04 0E 00 05"});
  h.check_invariants();
}

TEST_CASE("QoS 2: congested forgets the msg id and answers PUBACK congestion, the retry is published") {
  Harness h;
  h.connect(1, "c1", false);
  h.reg(1, "q2");
  h.gw.set_change_tracking(true);
  h.out.auto_result = std::nullopt;
  h.recv(1, "08 0C 40 00 01 00 06 78");
  CHECK(h.take() == Events{"publish q2 q2 r0 78"});
  CHECK(h.gw.snapshot("c1")->qos2_received == std::vector<std::uint16_t>{6});
  h.gw.take_changed_sessions();
  h.gw.on_publish_result(h.out.last_id, PublishResult::congested, h.now);
  CHECK(h.take() == Events{"send " + addr(1) + " 07 0D 00 01 00 06 01"});
  CHECK(h.gw.take_changed_sessions() == std::vector<std::string>{"c1"});  // the kept id went
  CHECK(h.gw.snapshot("c1")->qos2_received.empty());
  h.recv(1, "08 0C C0 00 01 00 06 78");
  CHECK(h.take() == Events{"publish q2 q2 r0 78"});
  h.gw.on_publish_result(h.out.last_id, PublishResult::delivered, h.now);
  CHECK(h.take() == Events{"send " + addr(1) + " 04 0F 00 06"});
  h.check_invariants();
}

TEST_CASE("a result after the session ended acknowledges nothing, not the new session's same msg id") {
  Harness h;
  h.connect(1, "c1");
  h.reg(1, "a");
  h.out.auto_result = std::nullopt;
  h.recv(1, "09 0C 20 00 01 00 02 32 32");
  const PublishId old_id = h.out.last_id;
  h.recv(1, "02 18");  // DISCONNECT: the clean session is destroyed
  CHECK(h.take() == Events{"publish a q1 r0 32 32", "send " + addr(1) + " 02 18"});
  CHECK(h.gw.session_count() == 0);
  h.check_invariants();
  h.connect(1, "c1");  // a new session (the slot is reused), the same topic id and msg id
  h.reg(1, "a");
  h.recv(1, "09 0C 20 00 01 00 02 32 32");
  CHECK(h.take() == Events{"publish a q1 r0 32 32"});
  const PublishId new_id = h.out.last_id;
  CHECK(new_id != old_id);
  h.gw.on_publish_result(old_id, PublishResult::delivered, h.now);
  CHECK(h.take().empty());
  CHECK(h.gw.counter(Counter::stale_upstream_ack) == 1);
  h.check_invariants();
  h.gw.on_publish_result(new_id, PublishResult::delivered, h.now);
  CHECK(h.take() == Events{"send " + addr(1) + " 07 0D 00 01 00 02 00"});
  h.check_invariants();
}

TEST_CASE("a takeover with CleanSession=1 forgets the awaited results: the old one acknowledges nothing") {
  Harness h;
  h.connect(1, "c1");
  h.reg(1, "a");
  h.out.auto_result = std::nullopt;
  h.recv(1, "08 0C 40 00 01 00 02 78");  // QoS 2, awaiting its result
  const PublishId old_id = h.out.last_id;
  CHECK(h.take() == Events{"publish a q2 r0 78"});
  h.connect(2, "c1");  // the node rebooted onto another address
  CHECK(h.gw.counter(Counter::takeovers) == 1);
  h.reg(2, "a");
  h.recv(2, "08 0C 40 00 01 00 02 79");  // the same msg id is a new message now
  CHECK(h.take() == Events{"publish a q2 r0 79"});
  const PublishId new_id = h.out.last_id;
  h.gw.on_publish_result(old_id, PublishResult::delivered, h.now);
  CHECK(h.take().empty());
  CHECK(h.gw.counter(Counter::stale_upstream_ack) == 1);
  h.gw.on_publish_result(new_id, PublishResult::kept, h.now);
  CHECK(h.take() == Events{"send " + addr(2) + " 04 0F 00 02"});
  h.check_invariants();
}

TEST_CASE("a kept session whose client left forgets awaited results, its retry after reconnecting is new") {
  Harness h;
  h.connect(1, "c1", false);
  h.reg(1, "a");
  h.out.auto_result = std::nullopt;
  h.recv(1, "08 0C 20 00 01 00 07 31");
  const PublishId old_id = h.out.last_id;
  h.recv(1, "02 18");  // DISCONNECT: the session is kept, its client is away
  CHECK(h.take() == Events{"publish a q1 r0 31", "send " + addr(1) + " 02 18"});
  h.gw.on_publish_result(old_id, PublishResult::delivered, h.now);
  CHECK(h.take().empty());  // nobody to tell
  CHECK(h.gw.counter(Counter::stale_upstream_ack) == 1);
  h.check_invariants();
  h.connect(1, "c1", false);
  h.recv(1, "08 0C A0 00 01 00 07 31");  // its retry: the topic id survived with the session
  CHECK(h.take() == Events{"publish a q1 r0 31"});
  CHECK(h.out.last_id != old_id);
  h.gw.on_publish_result(h.out.last_id, PublishResult::delivered, h.now);
  CHECK(h.take() == Events{"send " + addr(1) + " 07 0D 00 01 00 07 00"});
  h.check_invariants();
}

TEST_CASE("downlink at min(granted, message) QoS with retain carried") {
  Harness h;
  h.connect(1, "c1");
  h.recv(1, "08 12 20 00 01 61 2F 62");  // SUBSCRIBE QoS 1 "a/b"
  CHECK(h.take() == Events{"subscribe a/b q1"});
  h.gw.on_upstream_suback("a/b", QoS{1}, h.now);
  CHECK(h.take() == Events{"send " + addr(1) + " 08 13 20 00 01 00 01 00"});
  h.upstream("a/b", "x", 2, true);  // QoS 2 retained -> QoS 1 with retain
  CHECK(h.take() == Events{"send " + addr(1) + " 08 0C 30 00 01 00 01 78"});
  h.recv(1, "07 0D 00 01 00 01 00");
  h.upstream("a/b", "y", 0);
  CHECK(h.take() == Events{"send " + addr(1) + " 08 0C 00 00 01 00 00 79"});
  CHECK(h.gw.clients()[0].msgs_down == 2);
}

TEST_CASE("downlink QoS 2: PUBLISH, PUBREC -> PUBREL, PUBCOMP completes, PUBREL retransmitted") {
  Harness h;
  h.connect(1, "c1", true, 0);
  h.subscribe(1, "a/b", 2);
  h.upstream("a/b", "x", 2);
  CHECK(h.take() == Events{"send " + addr(1) + " 08 0C 40 00 01 00 01 78"});
  h.recv(1, "04 0F 00 01");
  CHECK(h.take() == Events{"send " + addr(1) + " 04 10 00 01"});
  h.advance_s(10);
  CHECK(h.take() == Events{"send " + addr(1) + " 04 10 00 01"});
  h.recv(1, "04 0E 00 01");
  CHECK(h.take().empty());
  CHECK(h.gw.clients()[0].in_flight == 0);
  h.check_invariants();
}

TEST_CASE("downlink QoS 1 is retransmitted with DUP after T_RETRY, N_RETRY exhausted -> lost + will") {
  Harness h;
  h.recv(1, "0A 04 0C 01 00 00 63 31 63 31");  // will+clean, keep-alive 0, "c1c1"
  h.recv(1, "06 07 00 77 2F 31");              // will topic "w/1"
  h.recv(1, "04 09 67 6F");                    // will "go"
  h.take();
  h.subscribe(1, "a/b", 1);
  h.upstream("a/b", "x", 1);
  CHECK(h.take() == Events{"send " + addr(1) + " 08 0C 20 00 01 00 01 78"});
  for (int i = 0; i < 3; ++i) {
    h.advance_s(10);
    CHECK(h.take() == Events{"send " + addr(1) + " 08 0C A0 00 01 00 01 78"});
  }
  h.advance_s(10);
  CHECK(h.take() == Events{"publish w/1 q0 r0 67 6F", "unsubscribe a/b"});
  CHECK(h.gw.counter(Counter::retries_exhausted) == 1);
}

TEST_CASE(
    "a PUBACK 0x02 from the client for a GW PUBLISH drops that mapping; the next message re-registers") {
  Harness h;
  h.connect(1, "c1");
  h.subscribe(1, "a/#", 0);
  h.upstream("a/x", "1", 0);
  h.recv(1, "07 0B 00 01 00 01 00");
  CHECK(h.take() == Events{"send " + addr(1) + " 09 0A 00 01 00 01 61 2F 78",
                           "send " + addr(1) + " 08 0C 00 00 01 00 00 31"});
  h.recv(1, "07 0D 00 01 00 00 02");
  h.upstream("a/x", "2", 0);
  CHECK(h.take() == Events{"send " + addr(1) + " 09 0A 00 02 00 02 61 2F 78"});
}

TEST_CASE("a downlink receipt expires once every node acknowledged, and tells when an absent node keeps it") {
  Harness h;
  h.connect(1, "c1");
  h.connect(2, "c2", false);
  h.subscribe(1, "a/b", 1);
  h.subscribe(2, "a/b", 1);
  h.take();
  auto upstream = [&](std::string_view topic, QoS qos) {
    static const std::uint8_t payload[] = {'x'};
    return h.gw.on_upstream_message(topic, Bytes(payload, sizeof payload), qos, false, h.now);
  };
  DownlinkReceipt r = upstream("a/b", 1);
  CHECK(h.take() == Events{"send " + addr(1) + " 08 0C 20 00 01 00 01 78",
                           "send " + addr(2) + " 08 0C 20 00 01 00 01 78"});
  CHECK_FALSE(r.waits_for_absent);
  CHECK_FALSE(r.settled());
  h.recv(1, "07 0D 00 01 00 01 00");
  CHECK_FALSE(r.settled());  // c2 still holds it
  h.recv(2, "07 0D 00 01 00 01 00");
  CHECK(r.settled());

  CHECK(upstream("no/subscriber", 1).settled());
  CHECK(upstream("a/b", 0).settled());  // QoS 0 is gone once sent

  h.recv(2, "04 18 00 3C");  // c2 sleeps for 60 s
  h.take();
  DownlinkReceipt asleep = upstream("a/b", 1);
  CHECK(asleep.waits_for_absent);
  CHECK_FALSE(asleep.settled());
}
