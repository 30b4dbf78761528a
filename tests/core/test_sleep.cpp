// Sleeping clients (spec 4.9): DISCONNECT with duration, buffering, wake with PINGREQ(client id),
// flush then PINGRESP, oversleeping.
#include "harness.hpp"

using namespace mqttsn;
using namespace mqttsn::test;

namespace {
const char* kPingreqC1 = "04 16 63 31";  // PINGREQ "c1"

// Node 1 ("c1") subscribed to "a" at QoS 1 (topic id 1), then asleep for 60 s; events taken.
void sleeping_subscriber(Harness& h) {
  h.connect(1, "c1");
  h.reg(1, "a");
  h.subscribe(1, "a", 1);
  h.recv(1, "04 18 00 3C");
  h.take();
}
}  // namespace

TEST_CASE("DISCONNECT with duration: asleep, answered with DISCONNECT without duration") {
  Harness h;
  h.connect(1, "c1");
  h.recv(1, "04 18 00 3C");
  CHECK(h.take() == Events{"send " + addr(1) + " 02 18"});
  auto c = h.gw.clients();
  CHECK(c[0].state == ClientState::asleep);
  CHECK(c[0].sleep_s == 60);
}

TEST_CASE("messages for a sleeping client are buffered and flushed on PINGREQ(client id), then PINGRESP") {
  Harness h;
  sleeping_subscriber(h);
  h.upstream("a", "1", 0);
  h.upstream("a", "2", 1);
  CHECK(h.take().empty());
  CHECK(h.gw.clients()[0].buffered == 2);
  h.recv(1, kPingreqC1);
  CHECK(h.take() == Events{"send " + addr(1) + " 08 0C 00 00 01 00 00 31",
                           "send " + addr(1) + " 08 0C 20 00 01 00 01 32"});
  CHECK(h.gw.clients()[0].state == ClientState::awake);
  h.recv(1, "07 0D 00 01 00 01 00");
  CHECK(h.take() == Events{"send " + addr(1) + " 02 17"});
  CHECK(h.gw.clients()[0].state == ClientState::asleep);
  // Nothing buffered: PINGRESP at once.
  h.recv(1, kPingreqC1);
  CHECK(h.take() == Events{"send " + addr(1) + " 02 17"});
  h.check_invariants();
}

TEST_CASE("sleep buffer is bounded: oldest QoS 0 goes first, then new messages are dropped and counted") {
  auto o = test_options();
  o.limits.buffered_per_client = 2;
  Harness h(o);
  sleeping_subscriber(h);
  h.upstream("a", "1", 0);
  h.upstream("a", "2", 1);
  h.upstream("a", "3", 1);  // full: the QoS 0 "1" goes
  h.upstream("a", "4", 1);  // full of QoS 1: "4" dropped
  CHECK(h.gw.counter(Counter::buffer_dropped_qos0) == 1);
  CHECK(h.gw.counter(Counter::buffer_full) == 1);
  h.recv(1, kPingreqC1);
  CHECK(h.take() == Events{"send " + addr(1) + " 08 0C 20 00 01 00 01 32"});
  h.recv(1, "07 0D 00 01 00 01 00");
  CHECK(h.take() == Events{"send " + addr(1) + " 08 0C 20 00 01 00 02 33"});
  h.recv(1, "07 0D 00 01 00 02 00");
  CHECK(h.take() == Events{"send " + addr(1) + " 02 17"});
}

TEST_CASE("sleep buffer is bounded in bytes per client: QoS 0 goes first, then QoS 1 is refused and shown") {
  auto o = test_options();
  o.limits.buffered_bytes_per_client = 10;  // topic "a" + payload: 5 octets per message below
  Harness h(o);
  sleeping_subscriber(h);
  h.upstream("a", "0000", 0);
  h.upstream("a", "1111", 1);
  CHECK(h.gw.clients()[0].buffered_bytes == 10);
  h.upstream("a", "2222", 1);  // 15 > 10: the QoS 0 message makes room
  CHECK(h.gw.counter(Counter::buffer_dropped_qos0) == 1);
  h.upstream("a", "3333", 1);  // only QoS 1 left: refused
  h.upstream("a", "4444", 0);  // a new QoS 0 message is the one that goes
  auto c = h.gw.clients()[0];
  CHECK(c.buffered == 2);
  CHECK(c.buffered_bytes == 10);
  CHECK(c.buffer_refused == 1);
  CHECK(c.buffer_full);
  CHECK(h.gw.counter(Counter::buffer_full) == 1);
  CHECK(h.gw.counter(Counter::buffer_dropped_qos0) == 2);
  CHECK(h.gw.buffered_bytes() == 10);
  h.check_invariants();
  // Waking drains it: the episode ends, the count stays for the operator.
  h.recv(1, kPingreqC1);
  h.recv(1, "07 0D 00 01 00 01 00");
  h.recv(1, "07 0D 00 01 00 02 00");
  c = h.gw.clients()[0];
  CHECK(c.buffered == 0);
  CHECK(c.buffered_bytes == 0);
  CHECK(!c.buffer_full);
  CHECK(c.buffer_refused == 1);
  CHECK(h.gw.buffered_bytes() == 0);
  h.check_invariants();
}

TEST_CASE("a message larger than the byte bound still reaches a client with an empty buffer") {
  auto o = test_options();
  o.limits.buffered_bytes_per_client = 4;
  Harness h(o);
  h.connect(1, "c1");
  h.reg(1, "a");
  h.subscribe(1, "a", 1);
  h.take();
  h.upstream("a", "0123456789", 1);
  CHECK(h.take() == Events{"send " + addr(1) + " 11 0C 20 00 01 00 01 30 31 32 33 34 35 36 37 38 39"});
  CHECK(h.gw.counter(Counter::buffer_full) == 0);
  h.check_invariants();
}

TEST_CASE("sleep buffers are bounded in bytes in total; an awake client is held to its own bounds only") {
  auto o = test_options();
  o.limits.buffered_bytes_total = 12;
  Harness h(o);
  for (int n : {1, 2, 3}) {
    h.connect(n, "c" + std::to_string(n));
    h.reg(n, "a");
    h.subscribe(n, "a", 1);
  }
  h.recv(1, "04 18 00 3C");
  h.recv(2, "04 18 00 3C");
  h.take();
  h.upstream("a", "1111", 1);  // 5 octets for each sleeper, and 5 in flight to the awake c3: 15
  CHECK(h.gw.buffered_bytes() == 15);
  h.upstream("a", "2222", 1);  // over the total of 12: the sleepers refuse it, c3 queues it
  auto refused = [&](std::string_view id) {
    for (const auto& c : h.gw.clients())
      if (c.client_id == id) return c.buffer_refused;
    return 0u;
  };
  CHECK(refused("c1") == 1);
  CHECK(refused("c2") == 1);
  CHECK(refused("c3") == 0);  // awake: bounded by its own limits, its queue drains in milliseconds
  CHECK(h.gw.counter(Counter::buffer_full) == 2);
  CHECK(h.gw.buffered_bytes() == 20);
  h.check_invariants();
}

TEST_CASE("CONNECT from a sleeping client: CONNACK, then the buffered messages") {
  Harness h;
  h.connect(1, "c1", false);
  h.reg(1, "a");
  h.subscribe(1, "a", 0);
  h.recv(1, "04 18 00 3C");
  h.upstream("a", "1", 0);
  h.take();
  h.recv(1, "08 04 00 01 00 3C 63 31");
  CHECK(h.take() == Events{"send " + addr(1) + " 03 05 00", "send " + addr(1) + " 08 0C 00 00 01 00 00 31"});
  CHECK(h.gw.clients()[0].state == ClientState::active);
}

TEST_CASE("a client that oversleeps its duration (x1.5) is lost and its will published") {
  Harness h;
  h.recv(1, "08 04 0C 01 00 0A 63 31");  // will+clean, keep-alive 10 s, "c1"
  h.recv(1, "04 07 00 77");              // will topic "w"
  h.recv(1, "03 09 7A");                 // will "z"
  h.recv(1, "04 18 00 3C");              // sleep 60 s
  h.take();
  h.advance_s(89);
  CHECK(h.take().empty());
  h.advance_s(2);
  CHECK(h.take() == Events{"publish w q0 r0 7A"});
  CHECK(h.gw.counter(Counter::sleep_timeouts) == 1);
}

TEST_CASE("waking restarts the sleep timer") {
  Harness h;
  h.connect(1, "c1");
  h.recv(1, "04 18 00 3C");
  h.advance_s(80);
  h.recv(1, kPingreqC1);
  h.take();
  h.advance_s(80);
  CHECK(h.gw.clients().size() == 1);
  h.advance_s(11);
  CHECK(h.gw.clients().empty());
}

TEST_CASE("PINGREQ without id from an active client: PINGRESP, unknown client id: DISCONNECT") {
  Harness h;
  h.connect(1, "c1");
  h.recv(1, "02 16");
  h.recv(2, "04 16 7A 7A");
  CHECK(h.take() == Events{"send " + addr(1) + " 02 17", "send " + addr(2) + " 02 18"});
}

TEST_CASE("a sleeping client waking from a new address is rebound") {
  Harness h;
  h.connect(1, "c1");
  h.recv(1, "04 18 00 3C");
  h.take();
  h.recv(2, kPingreqC1);
  CHECK(h.take() == Events{"send " + addr(2) + " 02 17"});
  CHECK(h.gw.clients()[0].address == udp(2));
}
