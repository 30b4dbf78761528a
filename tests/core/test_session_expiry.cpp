// Session expiry (GatewayOptions::session_expiry): a kept session whose node disconnected, was lost
// or overslept is removed once it has been away that long, the way any session is removed.
#include <algorithm>
#include <chrono>

#include "gateway/core/session_snapshot.hpp"
#include "harness.hpp"

using namespace mqttsn;
using namespace mqttsn::test;

namespace {

GatewayOptions expiring_after(int seconds) {
  GatewayOptions o = test_options();
  o.session_expiry = Millis{seconds * 1000};
  return o;
}

// c1 (CleanSession=0, no keep-alive supervision) subscribed to "a" at QoS 1, then gone with a DISCONNECT
// and one QoS 1 message buffered for it.
void disconnect_with_buffer(Harness& h) {
  h.connect(1, "c1", false, 0);
  h.reg(1, "a");
  h.subscribe(1, "a", 1);
  h.recv(1, "02 18");  // DISCONNECT
  h.upstream("a", "1", 1);
  h.take();
  const auto clients = h.gw.clients();
  const auto c1 =
      std::find_if(clients.begin(), clients.end(), [](const auto& c) { return c.client_id == "c1"; });
  REQUIRE(c1 != clients.end());
  REQUIRE(c1->state == ClientState::disconnected);
  REQUIRE(c1->buffered == 1);
}

}  // namespace

TEST_CASE("a disconnected kept session expires session_expiry after it went away, not before") {
  Harness h(expiring_after(60));
  h.gw.set_change_tracking(true);
  disconnect_with_buffer(h);
  const Millis gone = h.now;
  CHECK(h.gw.clients()[0].expires == gone + Millis{60000});
  CHECK(h.gw.next_deadline() == gone + Millis{60000});
  h.gw.take_changed_sessions();
  h.advance_s(59);
  CHECK(h.take().empty());
  REQUIRE(h.gw.clients().size() == 1);
  CHECK(h.gw.counter(Counter::sessions_expired) == 0);
  CHECK(h.gw.take_changed_sessions().empty());  // waiting costs no store write
  h.advance_s(1);
  // Its buffer is dropped and counted, its upstream filter (nobody else's) unsubscribed.
  CHECK(h.take() == Events{"unsubscribe a"});
  CHECK(h.gw.clients().empty());
  CHECK(h.gw.subscriptions().empty());
  CHECK(h.gw.topic_mappings().empty());
  CHECK(h.gw.counter(Counter::sessions_expired) == 1);
  CHECK(h.gw.counter(Counter::dropped_offline) == 1);
  // The store learns it through the change tracking: the session has no snapshot any more.
  CHECK(h.gw.take_changed_sessions() == std::vector<std::string>{"c1"});
  CHECK_FALSE(h.gw.snapshot("c1"));
  CHECK_FALSE(h.gw.next_deadline());
  h.check_invariants();
  // The node coming back later is a new client: its old topic id is unknown.
  h.recv_msg(1, Connect{false, false, 1, 0, "c1"});
  h.take();
  h.recv(1, "09 0C 20 00 01 00 05 34 32");  // PUBLISH QoS 1 on the old topic id 1
  CHECK(h.take() == Events{"send " + addr(1) + " 07 0D 00 01 00 05 02"});
  h.check_invariants();
}

TEST_CASE("an expiring session leaves an upstream filter another client holds subscribed") {
  Harness h(expiring_after(60));
  h.connect(2, "c2", true, 0);
  h.subscribe(2, "a", 0);  // QoS 0: nothing in flight towards c2 while time passes
  disconnect_with_buffer(h);
  h.advance_s(60);
  CHECK(h.take() == Events{});
  REQUIRE(h.gw.clients().size() == 1);
  CHECK(h.gw.clients()[0].client_id == "c2");
  REQUIRE(h.gw.subscriptions().size() == 1);
  CHECK(h.gw.subscriptions()[0].subscribers == std::vector<std::pair<std::string, QoS>>{{"c2", 0}});
  CHECK(h.gw.counter(Counter::sessions_expired) == 1);
  h.check_invariants();
}

TEST_CASE("a node reconnecting before expiry keeps its session, and leaving again starts a new expiry") {
  Harness h(expiring_after(60));
  disconnect_with_buffer(h);
  h.advance_s(59);
  h.recv_msg(1, Connect{false, false, 1, 0, "c1"});
  CHECK(h.take() == Events{"send " + addr(1) + " 03 05 00", "send " + addr(1) + " 08 0C 20 00 01 00 01 31"});
  CHECK_FALSE(h.gw.clients()[0].expires);
  h.recv(1, "07 0D 00 01 00 01 00");  // PUBACK for the buffered message
  CHECK_FALSE(h.gw.next_deadline());  // no keep-alive, nothing in flight, no expiry
  h.check_invariants();
  h.advance_s(3600);
  REQUIRE(h.gw.clients().size() == 1);
  CHECK(h.gw.clients()[0].state == ClientState::active);
  CHECK(h.gw.counter(Counter::sessions_expired) == 0);
  h.recv(1, "02 18");  // DISCONNECT again
  h.take();
  h.advance_s(59);
  CHECK(h.gw.clients().size() == 1);
  h.check_invariants();
  h.advance_s(1);
  CHECK(h.take() == Events{"unsubscribe a"});
  CHECK(h.gw.clients().empty());
  CHECK(h.gw.counter(Counter::sessions_expired) == 1);
  CHECK(h.gw.counter(Counter::dropped_offline) == 0);
  h.check_invariants();
}

TEST_CASE("a lost kept session expires session_expiry after its keep-alive ran out") {
  Harness h(expiring_after(100));
  h.connect(1, "c1", false, 10);
  h.subscribe(1, "s/#", 0);
  h.advance_s(15);  // lost at 1.5 x 10 s
  REQUIRE(h.gw.clients()[0].state == ClientState::lost);
  CHECK(h.gw.clients()[0].expires == h.now + Millis{100000});
  h.check_invariants();
  h.advance_s(99);
  CHECK(h.gw.clients().size() == 1);
  h.advance_s(1);
  CHECK(h.take() == Events{"unsubscribe s/#"});
  CHECK(h.gw.clients().empty());
  CHECK(h.gw.counter(Counter::sessions_expired) == 1);
  h.check_invariants();
}

TEST_CASE("a sleeping node's expiry counts from the end of its announced sleep") {
  Harness h(expiring_after(60));
  h.connect(1, "c1", false, 10);
  h.subscribe(1, "a", 1);
  h.recv(1, "04 18 00 3C");  // sleep 60 s: lost after 1.5 x 60 s
  h.take();
  h.upstream("a", "1", 1);  // buffered while asleep
  CHECK_FALSE(h.gw.clients()[0].expires);
  h.advance_s(89);
  CHECK(h.gw.clients()[0].state == ClientState::asleep);
  h.advance_s(1);
  REQUIRE(h.gw.clients()[0].state == ClientState::lost);
  CHECK(h.gw.counter(Counter::sleep_timeouts) == 1);
  h.check_invariants();
  h.advance_s(59);  // 149 s after it went to sleep: 90 s of sleep, 59 s of expiry
  CHECK(h.gw.clients().size() == 1);
  h.advance_s(1);
  CHECK(h.take() == Events{"unsubscribe a"});
  CHECK(h.gw.clients().empty());
  CHECK(h.gw.counter(Counter::sessions_expired) == 1);
  h.check_invariants();
}

TEST_CASE("a node waking before its sleep ends keeps its session however long it sleeps in all") {
  Harness h(expiring_after(60));
  h.connect(1, "c1", false, 10);
  h.recv(1, "04 18 00 3C");  // sleep 60 s
  for (int i = 0; i < 10; ++i) {
    h.advance_s(80);
    h.recv(1, "04 16 63 31");  // PINGREQ "c1": awake, nothing buffered, asleep again
  }
  REQUIRE(h.gw.clients().size() == 1);
  CHECK(h.gw.clients()[0].state == ClientState::asleep);
  CHECK(h.gw.counter(Counter::sessions_expired) == 0);
  h.check_invariants();
}

TEST_CASE("session_expiry 0 keeps a kept session for ever") {
  Harness h(expiring_after(0));
  disconnect_with_buffer(h);
  CHECK_FALSE(h.gw.clients()[0].expires);
  CHECK_FALSE(h.gw.next_deadline());
  h.advance(std::chrono::hours(24 * 3650));
  REQUIRE(h.gw.clients().size() == 1);
  CHECK(h.gw.clients()[0].buffered == 1);
  CHECK(h.gw.counter(Counter::sessions_expired) == 0);
  h.check_invariants();
}

TEST_CASE("a session restored while its node is away expires session_expiry after the restart") {
  Harness before(expiring_after(60));
  disconnect_with_buffer(before);
  before.advance_s(50);
  const auto snap = before.gw.snapshot("c1");
  REQUIRE(snap);
  // The snapshot holds no time: the expiry counts again from the restart.
  Harness h(expiring_after(60));
  h.advance_s(1000);
  REQUIRE(h.gw.restore(*snap, h.now));
  h.take();
  CHECK(h.gw.clients()[0].expires == h.now + Millis{60000});
  h.advance_s(59);
  CHECK(h.gw.clients().size() == 1);
  h.advance_s(1);
  CHECK(h.gw.clients().empty());
  CHECK(h.gw.counter(Counter::sessions_expired) == 1);
  CHECK(h.gw.counter(Counter::dropped_offline) == 1);
  h.check_invariants();
}
