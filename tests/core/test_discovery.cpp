// ADVERTISE and SEARCHGW / GWINFO (spec 4.2).
#include "harness.hpp"

using namespace mqttsn;
using namespace mqttsn::test;

TEST_CASE("ADVERTISE every period on every link, only while upstream is connected") {
  auto o = test_options();
  o.advertise_period_s = 900;
  Harness h(o);
  CHECK_FALSE(h.gw.next_deadline());
  h.gw.on_upstream_state(true, h.now);
  CHECK(h.take() == Events{"bcast 255 r0 05 00 01 03 84"});
  CHECK(h.gw.next_deadline() == h.now + Millis{900000});
  h.advance_s(899);
  CHECK(h.take().empty());
  h.advance_s(1);
  CHECK(h.take() == Events{"bcast 255 r0 05 00 01 03 84"});
  h.gw.on_upstream_state(false, h.now);
  CHECK_FALSE(h.gw.next_deadline());
  h.advance_s(2000);
  CHECK(h.take().empty());
}

TEST_CASE("ADVERTISE regardless of upstream when configured so, period 0 = off") {
  auto o = test_options();
  o.advertise_period_s = 60;
  o.gw_id = 7;
  o.advertise_only_when_upstream_connected = false;
  Harness h(o);
  h.advance_s(0);
  CHECK(h.take() == Events{"bcast 255 r0 05 00 07 00 3C"});
  Harness off;
  off.gw.on_upstream_state(true, off.now);
  off.advance_s(10000);
  CHECK(off.take().empty());
}

TEST_CASE("SEARCHGW is answered by a GWINFO broadcast on the same link with the same radius") {
  Harness h;
  h.gw.on_upstream_state(true, h.now);
  LinkAddress xb = LinkAddress::xbee(2, 0x0013A20040522BAAull);
  h.recv(xb, "03 01 01");
  CHECK(h.take() == Events{"bcast 2 r1 03 02 01"});
  h.gw.on_upstream_state(false, h.now);
  h.recv(xb, "03 01 00");
  CHECK(h.take().empty());  // no broker: do not attract nodes
}

TEST_CASE("sessions stay up and pings are answered while upstream is down") {
  Harness h;
  h.gw.on_upstream_state(true, h.now);
  h.connect(1, "c1");
  h.gw.on_upstream_state(false, h.now);
  h.recv(1, "02 16");
  CHECK(h.take() == Events{"send " + addr(1) + " 02 17"});
  h.recv_msg(2, Connect{false, true, 1, 60, "c2"});
  CHECK(h.take() == Events{"send " + addr(2) + " 03 05 00"});
}
