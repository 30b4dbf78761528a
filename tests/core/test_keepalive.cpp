// Keep-alive supervision (spec 4.8), delivery failures, and the deadline the app sleeps until.
#include "harness.hpp"

using namespace mqttsn;
using namespace mqttsn::test;

TEST_CASE("a silent client is lost at 1.5x its keep-alive, every message restarts the timer") {
  Harness h;
  h.connect(1, "c1", true, 20);
  CHECK(h.gw.next_deadline() == h.now + Millis{30000});
  h.advance_s(25);
  h.recv(1, "02 16");
  h.take();
  h.advance_s(25);  // 25 s after the ping: still in time
  CHECK(h.gw.clients().size() == 1);
  // The early heap entry fired and was re-armed at the real deadline (no per-client timer churn).
  CHECK(h.gw.next_deadline() == h.now + Millis{5000});
  h.advance_s(5);
  CHECK(h.gw.clients().empty());
  CHECK(h.gw.counter(Counter::keepalive_timeouts) == 1);
  CHECK_FALSE(h.gw.next_deadline());
}

TEST_CASE("keep-alive 0 turns supervision off") {
  Harness h;
  h.connect(1, "c1", true, 0);
  CHECK_FALSE(h.gw.next_deadline());
  h.advance_s(100000);
  CHECK(h.gw.clients().size() == 1);
}

TEST_CASE("a lost CleanSession=0 client keeps its subscriptions, the will is published once") {
  Harness h;
  h.recv(1, "08 04 08 01 00 0A 63 31");  // will, no clean, 10 s, "c1"
  h.recv(1, "04 07 20 77");              // will QoS 1 "w"
  h.recv(1, "03 09 7A");
  h.take();
  h.subscribe(1, "s", 0);
  h.advance_s(16);
  CHECK(h.take() == Events{"publish w q1 r0 7A"});
  auto c = h.gw.clients();
  REQUIRE(c.size() == 1);
  CHECK(c[0].state == ClientState::lost);
  CHECK(h.gw.subscriptions().size() == 1);
  h.advance_s(100);
  CHECK(h.take().empty());
  h.check_invariants();
}

TEST_CASE("the deadline is the earliest of many clients, without one timer per client") {
  Harness h;
  for (int n = 1; n <= 50; ++n)
    h.recv_msg(n, Connect{false, true, 1, static_cast<std::uint16_t>(100 + n), "n" + std::to_string(n)});
  h.take();
  CHECK(h.gw.next_deadline() == h.now + Millis{151500});
  h.advance(Millis{151500});
  CHECK(h.gw.clients().size() == 49);
}

TEST_CASE("radio delivery failures beyond N_RETRY lose the client, a datagram from it resets the count") {
  Harness h;
  h.connect(1, "c1");
  for (int i = 0; i < 3; ++i) h.gw.on_delivery_failure(udp(1), h.now);
  h.recv(1, "02 16");
  for (int i = 0; i < 3; ++i) h.gw.on_delivery_failure(udp(1), h.now);
  CHECK(h.gw.clients().size() == 1);
  h.gw.on_delivery_failure(udp(1), h.now);
  CHECK(h.gw.clients().empty());
  CHECK(h.gw.counter(Counter::delivery_failures) == 7);
}
