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

TEST_CASE("QoS 0 with a registered id is published; an unknown id gets PUBACK 0x02 and nothing upstream") {
  Harness h;
  h.connect(1, "c1");
  h.reg(1, "sensors/temp");
  h.recv(1, "0B 0C 00 00 01 00 00 32 31 2E 35");
  CHECK(h.take() == Events{"publish sensors/temp q0 r0 32 31 2E 35"});
  h.recv(1, "0B 0C 00 00 09 00 00 32 31 2E 35");
  CHECK(h.take() == Events{"send " + addr(1) + " 07 0D 00 09 00 00 02"});
  CHECK(h.gw.counter(Counter::unknown_topic_id) == 1);
}

TEST_CASE("QoS 0 short name with retain; QoS 1 predefined id") {
  Harness h;
  h.gw.set_predefined_topics({{0x20, "bin/data", std::nullopt}});
  h.connect(1, "c1");
  h.recv(1, "09 0C 12 74 31 00 00 6F 6E");
  h.recv(1, "0B 0C 21 00 20 00 07 00 11 7E FF");
  CHECK(h.take() == Events{"publish t1 q0 r1 6F 6E", "publish bin/data q1 r0 00 11 7E FF",
                           "send " + addr(1) + " 07 0D 00 20 00 07 00"});
}

TEST_CASE("QoS 1: PUBACK only once the upstream side accepted; DUP not published twice") {
  Harness h;
  h.connect(1, "c1");
  h.reg(1, "a");
  h.out.results = {UpstreamAccept::pending};
  h.recv(1, "09 0C 20 00 01 00 02 32 32");
  CHECK(h.take() == Events{"publish a q1 r0 32 32"});
  h.recv(1, "09 0C A0 00 01 00 02 32 32");  // DUP retransmission while the broker has not acked
  CHECK(h.take().empty());
  CHECK(h.gw.counter(Counter::duplicate_publishes) == 1);
  h.check_invariants();
  h.gw.on_upstream_ack(h.out.last_token, true, h.now);
  CHECK(h.take() == Events{"send " + addr(1) + " 07 0D 00 01 00 02 00"});
  h.gw.on_upstream_ack(h.out.last_token, true, h.now);  // stale
  CHECK(h.take().empty());
  CHECK(h.gw.counter(Counter::stale_upstream_ack) == 1);
}

TEST_CASE("QoS 1: immediate acceptance, congestion, and an upstream failure become PUBACK rc") {
  Harness h;
  h.connect(1, "c1");
  h.reg(1, "a");
  h.recv(1, "09 0C 20 00 01 00 02 32 32");
  CHECK(h.take() == Events{"publish a q1 r0 32 32", "send " + addr(1) + " 07 0D 00 01 00 02 00"});
  h.out.results = {UpstreamAccept::congested};
  h.recv(1, "09 0C 20 00 01 00 03 32 32");
  CHECK(h.take() == Events{"publish a q1 r0 32 32", "send " + addr(1) + " 07 0D 00 01 00 03 01"});
  h.out.results = {UpstreamAccept::pending};
  h.recv(1, "09 0C 20 00 01 00 04 32 32");
  h.take();
  h.gw.on_upstream_ack(h.out.last_token, false, h.now);
  CHECK(h.take() == Events{"send " + addr(1) + " 07 0D 00 01 00 04 01"});
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

TEST_CASE("QoS 2 with a pending upstream: PUBREC after the broker's ack") {
  Harness h;
  h.connect(1, "c1");
  h.reg(1, "q2");
  h.out.results = {UpstreamAccept::pending};
  h.recv(1, "08 0C 40 00 01 00 05 78");
  CHECK(h.take() == Events{"publish q2 q2 r0 78"});
  h.recv(1, "08 0C C0 00 01 00 05 78");
  CHECK(h.take().empty());
  h.gw.on_upstream_ack(h.out.last_token, true, h.now);
  CHECK(h.take() == Events{"send " + addr(1) + " 04 0F 00 05"});
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

TEST_CASE("downlink QoS 2: PUBLISH, PUBREC -> PUBREL, PUBCOMP completes; PUBREL retransmitted") {
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

TEST_CASE("downlink QoS 1 is retransmitted with DUP after T_RETRY; N_RETRY exhausted -> lost + will") {
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
