// Limits: clients, topic ids, subscriptions, in-flight, payload size, link MTU (congestion / not
// supported, never a crash or a silent loss).
#include "harness.hpp"

using namespace mqttsn;
using namespace mqttsn::test;

TEST_CASE("max clients: CONNACK congestion, a persistent offline session is evicted first") {
  auto o = test_options();
  o.limits.max_clients = 2;
  Harness h(o);
  h.connect(1, "c1");
  h.connect(2, "c2", false);
  h.recv_msg(3, Connect{false, true, 1, 60, "c3"});
  CHECK(h.take() == Events{"send " + addr(3) + " 03 05 01"});
  CHECK(h.gw.counter(Counter::client_limit) == 1);
  h.recv(2, "02 18");  // c2 disconnects, its persistent session stays
  h.take();
  h.recv_msg(3, Connect{false, true, 1, 60, "c3"});
  CHECK(h.take() == Events{"send " + addr(3) + " 03 05 00"});
  CHECK(h.gw.counter(Counter::sessions_evicted) == 1);
}

TEST_CASE("topic ids per client: REGACK congestion when the table is full") {
  auto o = test_options();
  o.limits.topic_ids_per_client = 1;
  Harness h(o);
  h.connect(1, "c1");
  h.reg(1, "a");
  h.recv(1, "07 0A 00 00 00 02 62");
  CHECK(h.take() == Events{"send " + addr(1) + " 07 0B 00 00 00 02 01"});
  CHECK(h.gw.counter(Counter::topic_id_limit) == 1);
  // A wildcard match that needs an id cannot be delivered: dropped and counted.
  h.subscribe(1, "#", 0);
  h.upstream("zz/top", "1", 0);
  CHECK(h.take().empty());
  CHECK(h.gw.counter(Counter::topic_id_limit) == 2);
  h.check_invariants();
}

TEST_CASE("subscriptions per client: SUBACK congestion") {
  auto o = test_options();
  o.limits.subscriptions_per_client = 1;
  Harness h(o);
  h.connect(1, "c1");
  h.subscribe(1, "a/#", 0);
  h.recv(1, "08 12 00 00 02 62 2F 23");
  CHECK(h.take() == Events{"send " + addr(1) + " 08 13 00 00 00 00 02 01"});
  CHECK(h.gw.counter(Counter::subscription_limit) == 1);
}

TEST_CASE("payload over the limit: PUBACK not supported, nothing published") {
  auto o = test_options();
  o.limits.max_payload = 2;
  Harness h(o);
  h.connect(1, "c1");
  h.reg(1, "a");
  h.recv(1, "0A 0C 20 00 01 00 02 31 32 33");
  CHECK(h.take() == Events{"send " + addr(1) + " 07 0D 00 01 00 02 03"});
  CHECK(h.gw.counter(Counter::payload_too_large) == 1);
}

TEST_CASE("client QoS 1/2 publishes awaiting the broker are bounded: PUBACK congestion") {
  auto o = test_options();
  o.limits.uplink_in_flight_per_client = 1;
  Harness h(o);
  h.connect(1, "c1");
  h.reg(1, "a");
  h.out.auto_result = std::nullopt;
  h.recv(1, "08 0C 20 00 01 00 02 31");
  h.recv(1, "08 0C 20 00 01 00 03 31");
  CHECK(h.take() == Events{"publish a q1 r0 31", "send " + addr(1) + " 07 0D 00 01 00 03 01"});
  CHECK(h.gw.counter(Counter::uplink_in_flight_limit) == 1);
  // The result frees the place: msg id 2 is acknowledged, and the retry of 3 goes upstream.
  h.gw.on_publish_result(h.out.last_id, PublishResult::kept, h.now);
  h.recv(1, "08 0C A0 00 01 00 03 31");
  CHECK(h.take() == Events{"send " + addr(1) + " 07 0D 00 01 00 02 00", "publish a q1 r0 31"});
  h.check_invariants();
}

TEST_CASE("in-flight per client: one QoS 1 at a time, the next waits for the PUBACK") {
  Harness h;
  h.connect(1, "c1");
  h.reg(1, "a");
  h.subscribe(1, "a", 1);
  h.upstream("a", "1", 1);
  h.upstream("a", "2", 1);
  CHECK(h.take() == Events{"send " + addr(1) + " 08 0C 20 00 01 00 01 31"});
  CHECK(h.gw.clients()[0].buffered == 1);
  h.recv(1, "07 0D 00 01 00 01 00");
  CHECK(h.take() == Events{"send " + addr(1) + " 08 0C 20 00 01 00 02 32"});
}

TEST_CASE("a downlink message too large for the link is dropped and counted") {
  auto o = test_options();
  o.limits.max_downlink_datagram = 10;
  Harness h(o);
  h.connect(1, "c1");
  h.reg(1, "a");
  h.subscribe(1, "a", 0);
  h.upstream("a", "1234", 0);  // 7 + 4 = 11 octets
  h.upstream("a", "123", 0);
  CHECK(h.take() == Events{"send " + addr(1) + " 0A 0C 00 00 01 00 00 31 32 33"});
  CHECK(h.gw.counter(Counter::too_large_for_link) == 1);
}

TEST_CASE("each link's own datagram limit bounds what is sent over it") {
  auto o = test_options();
  o.limits.link_max_datagram = {10};  // link 0 is narrow; link 1 has no entry (global limit only)
  Harness h(o);
  const LinkAddress wide = LinkAddress::udp4(1, {10, 0, 1, 1}, 2001);
  h.connect(1, "narrow");
  h.subscribe(1, "a", 0);
  h.recv(wide, "09 04 04 01 00 3C 77 69 64");  // CONNECT "wid", clean session
  h.recv(wide, "06 12 00 00 01 61");           // SUBSCRIBE "a" QoS 0, msg id 1
  const auto setup = h.take();
  REQUIRE(setup.size() == 2);
  CHECK(setup[1] == "send " + wide.to_string() + " 08 13 00 00 01 00 01 00");

  h.upstream("a", "1234", 0);  // 7 + 4 = 11 octets: too large for link 0 only
  CHECK(h.take() == Events{"send " + wide.to_string() + " 0B 0C 00 00 01 00 00 31 32 33 34"});
  CHECK(h.gw.counter(Counter::too_large_for_link) == 1);
  CHECK(h.gw.clients()[0].in_flight == 0);
}
