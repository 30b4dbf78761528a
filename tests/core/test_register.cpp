// Topic registration (spec 4.4): client REGISTER, gateway REGISTER before a PUBLISH, REGACK
// errors, ordering behind an unanswered REGISTER, retransmission.
#include "harness.hpp"

using namespace mqttsn;
using namespace mqttsn::test;

TEST_CASE("client REGISTER gets an id, the same name gets the same id, another name the next id") {
  Harness h;
  h.connect(1, "c1");
  h.recv(1, "12 0A 00 00 00 01 73 65 6E 73 6F 72 73 2F 74 65 6D 70");  // "sensors/temp"
  CHECK(h.take() == Events{"send " + addr(1) + " 07 0B 00 01 00 01 00"});
  h.recv(1, "12 0A 00 00 00 02 73 65 6E 73 6F 72 73 2F 74 65 6D 70");
  CHECK(h.take() == Events{"send " + addr(1) + " 07 0B 00 01 00 02 00"});
  h.recv(1, "09 0A 00 00 00 03 61 2F 62");  // "a/b"
  CHECK(h.take() == Events{"send " + addr(1) + " 07 0B 00 02 00 03 00"});
  auto m = h.gw.topic_mappings();
  REQUIRE(m.size() == 2);
  CHECK(m[0].topic == "sensors/temp");
  CHECK(m[0].kind == TopicKind::normal);
  CHECK(m[1].topic_id == 2);
}

TEST_CASE("topic ids are per client") {
  Harness h;
  h.connect(1, "c1");
  h.connect(2, "c2");
  CHECK(h.reg(1, "x/1") == 1);
  CHECK(h.reg(1, "x/2") == 2);
  CHECK(h.reg(2, "x/2") == 1);
  // Interned once: two clients mapping x/2 share one string.
  CHECK(h.gw.interned_topics() == 2);
  h.recv(2, "08 0C 00 00 02 00 00 41");  // c2 has no id 2
  CHECK(h.take() == Events{"send " + addr(2) + " 07 0D 00 02 00 00 02"});
}

TEST_CASE("REGISTER of a wildcard name is rejected with not supported") {
  Harness h;
  h.connect(1, "c1");
  h.recv(1, "09 0A 00 00 00 07 61 2F 2B");  // "a/+"
  CHECK(h.take() == Events{"send " + addr(1) + " 07 0B 00 00 00 07 03"});
  h.recv(1, "09 0A 00 00 00 08 61 2F 23");  // "a/#"
  CHECK(h.take() == Events{"send " + addr(1) + " 07 0B 00 00 00 08 03"});
  CHECK(h.gw.counter(Counter::invalid_topic) == 2);
}

TEST_CASE("gateway REGISTER precedes the PUBLISH of a wildcard match, the PUBLISH waits for REGACK") {
  Harness h;
  h.connect(1, "c1");
  h.subscribe(1, "sensors/+/temp", 1);
  h.upstream("sensors/kitchen/temp", "19.0", 1);
  CHECK(h.take() == Events{"send " + addr(1) + " 1A 0A 00 01 00 01 " + hex_of("sensors/kitchen/temp")});
  h.upstream("sensors/kitchen/temp", "19.5", 1);
  CHECK(h.take().empty());  // waits behind the REGISTER (ordering)
  auto m = h.gw.topic_mappings();
  REQUIRE(m.size() == 1);
  CHECK_FALSE(m[0].confirmed);
  h.recv(1, "07 0B 00 01 00 01 00");  // REGACK ok
  CHECK(h.take() == Events{"send " + addr(1) + " 0B 0C 20 00 01 00 02 31 39 2E 30"});
  h.recv(1, "07 0D 00 01 00 02 00");  // PUBACK
  CHECK(h.take() == Events{"send " + addr(1) + " 0B 0C 20 00 01 00 03 31 39 2E 35"});
  h.recv(1, "07 0D 00 01 00 03 00");
  CHECK(h.take().empty());
  // Next message on that topic uses the id at once.
  h.upstream("sensors/kitchen/temp", "20", 0);
  CHECK(h.take() == Events{"send " + addr(1) + " 09 0C 00 00 01 00 00 32 30"});
  h.check_invariants();
}

TEST_CASE("a REGACK error is respected: that topic is dropped like an unsubscribe, the filter stays") {
  Harness h;
  h.connect(1, "c1");
  h.subscribe(1, "s/#", 0);
  h.upstream("s/a", "1", 0);
  CHECK(h.take() == Events{"send " + addr(1) + " 09 0A 00 01 00 01 73 2F 61"});
  h.upstream("s/a", "2", 0);
  h.recv(1, "07 0B 00 01 00 01 02");  // REGACK invalid topic id: the client refuses s/a
  CHECK(h.take().empty());
  CHECK(h.gw.counter(Counter::register_rejected) == 1);
  CHECK(h.gw.counter(Counter::dropped_register_rejected) == 2);
  h.upstream("s/a", "3", 0);
  CHECK(h.take().empty());
  h.upstream("s/b", "4", 0);  // other topics of the filter still come
  CHECK(h.take() == Events{"send " + addr(1) + " 09 0A 00 02 00 02 73 2F 62"});
  h.check_invariants();
}

TEST_CASE("messages on another topic pass one that waits for its REGACK, per-topic order kept") {
  Harness h;
  h.options.limits.in_flight_per_client = 2;
  Harness h2(h.options);
  h2.connect(1, "c1");
  h2.subscribe(1, "#", 0);
  h2.upstream("long/topic", "1", 0);
  h2.upstream("ab", "2", 0);  // short name: no REGISTER needed, passes
  h2.upstream("long/topic", "3", 0);
  CHECK(h2.take() == Events{"send " + addr(1) + " 10 0A 00 01 00 01 " + hex_of("long/topic"),
                            "send " + addr(1) + " 08 0C 02 61 62 00 00 32"});
  h2.recv(1, "07 0B 00 01 00 01 00");
  CHECK(h2.take() == Events{"send " + addr(1) + " 08 0C 00 00 01 00 00 31",
                            "send " + addr(1) + " 08 0C 00 00 01 00 00 33"});
}

TEST_CASE("gateway REGISTER is retransmitted after T_RETRY, after N_RETRY the client is lost") {
  Harness h;
  h.connect(1, "c1", true, 0);  // no keep-alive supervision
  h.subscribe(1, "t/#", 0);
  h.upstream("t/x", "1", 0);
  std::string reg = "send " + addr(1) + " 09 0A 00 01 00 01 74 2F 78";
  CHECK(h.take() == Events{reg});
  CHECK(h.gw.next_deadline() == h.now + Millis{10000});
  for (int i = 0; i < 3; ++i) {
    h.advance_s(10);
    CHECK(h.take() == Events{reg});
  }
  h.advance_s(10);
  CHECK(h.take() == Events{"unsubscribe t/#"});
  CHECK(h.gw.counter(Counter::retries_exhausted) == 1);
  CHECK(h.gw.clients().empty());
}
