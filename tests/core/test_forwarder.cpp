// Forwarder encapsulation (spec 4.12).
#include "harness.hpp"

using namespace mqttsn;
using namespace mqttsn::test;

TEST_CASE("an encapsulated CONNECT is a client behind the forwarder, replies go back encapsulated") {
  Harness h;
  // Len=5 FE Ctrl=0 node id "N1" | CONNECT clean 60 s "c1"
  h.recv(9, "05 FE 00 4E 31 08 04 04 01 00 3C 63 31");
  CHECK(h.take() == Events{"send " + addr(9) + " 05 FE 00 4E 31 03 05 00"});
  auto c = h.gw.clients();
  REQUIRE(c.size() == 1);
  CHECK(c[0].forwarded);
  CHECK(c[0].node_id == "N1");
  // A second node behind the same forwarder is another client.
  h.recv(9, "05 FE 00 4E 32 08 04 04 01 00 3C 63 32");
  CHECK(h.take() == Events{"send " + addr(9) + " 05 FE 00 4E 32 03 05 00"});
  CHECK(h.gw.clients().size() == 2);
  // The forwarder's own address is not a client.
  h.recv(9, "02 16");
  CHECK(h.take() == Events{"send " + addr(9) + " 02 18"});
  // Downlink to a forwarded node.
  h.recv(9, "05 FE 00 4E 31 08 12 00 00 01 61 2F 62");
  h.gw.on_upstream_suback("a/b", QoS{0}, h.now);
  h.take();
  h.upstream("a/b", "x", 0);
  CHECK(h.take() == Events{"send " + addr(9) + " 05 FE 00 4E 31 08 0C 00 00 01 00 00 78"});
  h.check_invariants();
}

TEST_CASE("SEARCHGW through a forwarder: GWINFO unicast to it, encapsulated, radius in Ctrl") {
  Harness h;
  h.gw.on_upstream_state(true, h.now);
  h.recv(9, "04 FE 00 AA 03 01 02");
  CHECK(h.take() == Events{"send " + addr(9) + " 04 FE 02 AA 03 02 01"});
}

TEST_CASE("an empty node id is still encapsulated, a malformed inner message is counted") {
  Harness h;
  h.recv(9, "03 FE 00 08 04 04 01 00 3C 63 31");
  CHECK(h.take() == Events{"send " + addr(9) + " 03 FE 00 03 05 00"});
  h.recv(9, "03 FE 00 09 04 04 01");
  CHECK(h.take().empty());
  CHECK(h.gw.counter(Counter::malformed) == 1);
}
