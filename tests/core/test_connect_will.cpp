// CONNECT, CONNACK, the will exchange, CleanSession, takeover, DISCONNECT (spec 4.3, 4.9, 4.10).
#include "harness.hpp"

using namespace mqttsn;
using namespace mqttsn::test;

namespace {
const char* kConnectSensor1 = "0D 04 04 01 00 3C 73 65 6E 73 6F 72 31";      // clean, 60 s, "sensor1"
const char* kConnectWillClean = "0C 04 0C 01 00 1E 6E 6F 64 65 34 32";       // will+clean, 30 s, "node42"
const char* kWillTopic = "10 07 30 73 74 61 74 75 73 2F 6E 6F 64 65 34 32";  // QoS1 retain "status/node42"
const char* kWillMsg = "09 09 6F 66 66 6C 69 6E 65";                         // "offline"
}  // namespace

TEST_CASE("CONNECT without will is answered with CONNACK accepted") {
  Harness h;
  h.recv(1, kConnectSensor1);
  CHECK(h.take() == Events{"send " + addr(1) + " 03 05 00"});
  auto c = h.gw.clients();
  REQUIRE(c.size() == 1);
  CHECK(c[0].client_id == "sensor1");
  CHECK(c[0].state == ClientState::active);
  CHECK(c[0].keep_alive_s == 60);
}

TEST_CASE(
    "CONNECT with will: WILLTOPICREQ, WILLTOPIC, WILLMSGREQ, WILLMSG, CONNACK; will published when lost") {
  Harness h;
  h.recv(1, kConnectWillClean);
  CHECK(h.take() == Events{"send " + addr(1) + " 02 06"});
  CHECK(h.gw.clients()[0].state == ClientState::connecting);
  h.recv(1, kWillTopic);
  CHECK(h.take() == Events{"send " + addr(1) + " 02 08"});
  h.recv(1, kWillMsg);
  CHECK(h.take() == Events{"send " + addr(1) + " 03 05 00"});
  CHECK(h.gw.clients()[0].has_will);
  // Keep-alive 30 s, tolerance 1.5: lost after 45 s of silence, not before.
  h.advance_s(44);
  CHECK(h.take().empty());
  h.advance_s(2);
  CHECK(h.take() == Events{"publish status/node42 q1 r1 " + hex_of("offline")});
  CHECK(h.gw.counter(Counter::keepalive_timeouts) == 1);
  CHECK(h.gw.counter(Counter::wills_published) == 1);
  CHECK(h.gw.clients().empty());  // CleanSession: nothing kept
  // A will at QoS 1 waits for no result (nobody is left to acknowledge): id 0, in the node's name.
  REQUIRE(h.out.published.size() == 1);
  CHECK(h.out.published[0].id == 0);
  CHECK(h.out.published[0].client_id == "node42");
  CHECK(h.out.ids.empty());
}

TEST_CASE("empty WILLTOPIC means no will: CONNACK at once, a stray WILLMSG is tolerated") {
  Harness h;
  h.recv(1, kConnectWillClean);
  h.take();
  h.recv(1, "02 07");
  CHECK(h.take() == Events{"send " + addr(1) + " 03 05 00"});
  h.recv(1, kWillMsg);
  CHECK(h.take().empty());
  CHECK(h.gw.counter(Counter::unexpected_message) == 0);
  h.advance_s(60);
  CHECK(h.take().empty());  // lost, but no will to publish
  CHECK(h.gw.counter(Counter::keepalive_timeouts) == 1);
}

TEST_CASE("a half-open will exchange is dropped after N_RETRY x T_RETRY") {
  Harness h;
  h.recv(1, kConnectWillClean);
  h.take();
  h.advance_s(29);
  CHECK(h.gw.clients().size() == 1);
  h.advance_s(2);
  CHECK(h.gw.clients().empty());
  CHECK(h.gw.counter(Counter::connect_timeouts) == 1);
  CHECK(h.take().empty());
}

TEST_CASE("a retransmitted CONNECT restarts the will exchange") {
  Harness h;
  h.recv(1, kConnectWillClean);
  h.recv(1, kConnectWillClean);
  CHECK(h.take() == Events{"send " + addr(1) + " 02 06", "send " + addr(1) + " 02 06"});
  h.recv(1, kWillTopic);
  h.recv(1, kWillMsg);
  CHECK(h.take() == Events{"send " + addr(1) + " 02 08", "send " + addr(1) + " 03 05 00"});
}

TEST_CASE("DISCONNECT without duration is answered with DISCONNECT and discards the will") {
  Harness h;
  h.recv(1, kConnectWillClean);
  h.recv(1, kWillTopic);
  h.recv(1, kWillMsg);
  h.take();
  h.recv(1, "02 18");
  CHECK(h.take() == Events{"send " + addr(1) + " 02 18"});
  h.advance_s(3600);
  CHECK(h.take().empty());
  CHECK(h.gw.counter(Counter::wills_published) == 0);
  CHECK(h.gw.clients().empty());
}

TEST_CASE("CleanSession=0 keeps subscriptions and topic ids across reconnects") {
  Harness h;
  h.connect(1, "keeper", false);
  std::uint16_t id = h.reg(1, "a/b");
  CHECK(id == 1);
  h.subscribe(1, "c/#", 1);
  h.recv(1, "02 18");
  CHECK(h.take() == Events{"send " + addr(1) + " 02 18"});
  CHECK(h.gw.clients()[0].state == ClientState::disconnected);
  // While disconnected the broker's messages wait in its buffer (a persistent session).
  h.upstream("c/x", "1", 0);
  CHECK(h.take().empty());
  CHECK(h.gw.counter(Counter::dropped_offline) == 0);
  CHECK(h.gw.clients()[0].buffered == 1);
  // Reconnect with CleanSession=0 (flags 0x00): id 1 still means a/b, c/# still delivers, and the
  // buffered message follows the CONNACK (its topic needs an id: REGISTER id 2 first).
  h.recv(1, "0C 04 00 01 00 3C 6B 65 65 70 65 72");
  CHECK(h.take() ==
        Events{"send " + addr(1) + " 03 05 00", "send " + addr(1) + " 09 0A 00 02 00 01 63 2F 78"});
  h.recv(1, "08 0C 00 00 01 00 00 41");
  CHECK(h.take() == Events{"publish a/b q0 r0 41"});
  h.recv(1, "07 0B 00 02 00 01 00");  // REGACK
  CHECK(h.take() == Events{"send " + addr(1) + " 08 0C 00 00 02 00 00 31"});
  h.upstream("c/d", "hi", 0);
  CHECK(h.take() == Events{"send " + addr(1) + " 09 0A 00 03 00 02 63 2F 64"});
  h.check_invariants();
}

TEST_CASE("CleanSession=1 on reconnect deletes subscriptions (upstream unsubscribe) and topic ids") {
  Harness h;
  h.connect(1, "c1", false);
  h.reg(1, "a/b");
  h.subscribe(1, "c/#", 1);
  h.recv(1, "08 04 04 01 00 3C 63 31");  // CONNECT clean "c1"
  CHECK(h.take() == Events{"unsubscribe c/#", "send " + addr(1) + " 03 05 00"});
  h.recv(1, "08 0C 00 00 01 00 00 41");
  CHECK(h.take() == Events{"send " + addr(1) + " 07 0D 00 01 00 00 02"});
  CHECK(h.gw.subscriptions().empty());
}

TEST_CASE("the same client id from a new address takes the session over, without its will") {
  Harness h;
  h.recv(1, kConnectWillClean);
  h.recv(1, kWillTopic);
  h.recv(1, kWillMsg);
  h.take();
  h.recv(2, "0C 04 00 01 00 1E 6E 6F 64 65 34 32");  // "node42" again, no will, no clean, from node 2
  CHECK(h.take() == Events{"send " + addr(2) + " 03 05 00"});
  CHECK(h.gw.counter(Counter::takeovers) == 1);
  CHECK(h.gw.counter(Counter::wills_published) == 0);
  auto c = h.gw.clients();
  REQUIRE(c.size() == 1);
  CHECK(c[0].address == udp(2));
  // The old address is no longer a client: a PINGREQ from it gets DISCONNECT.
  h.recv(1, "02 16");
  CHECK(h.take() == Events{"send " + addr(1) + " 02 18"});
  h.recv(2, "02 16");
  CHECK(h.take() == Events{"send " + addr(2) + " 02 17"});
}

TEST_CASE("a node reconnecting under another client id ends its old identity (will published)") {
  Harness h;
  h.recv(1, kConnectWillClean);
  h.recv(1, kWillTopic);
  h.recv(1, kWillMsg);
  h.take();
  h.recv(1, kConnectSensor1);
  CHECK(h.take() ==
        Events{"publish status/node42 q1 r1 " + hex_of("offline"), "send " + addr(1) + " 03 05 00"});
  REQUIRE(h.out.published.size() == 1);
  CHECK(h.out.published[0].id == 0);
  CHECK(h.out.published[0].client_id == "node42");
  auto c = h.gw.clients();
  REQUIRE(c.size() == 1);
  CHECK(c[0].client_id == "sensor1");
}

TEST_CASE("unsupported protocol id gets CONNACK not supported") {
  Harness h;
  h.recv(1, "0D 04 04 02 00 3C 73 65 6E 73 6F 72 31");
  CHECK(h.take() == Events{"send " + addr(1) + " 03 05 03"});
  CHECK(h.gw.clients().empty());
  CHECK(h.gw.counter(Counter::malformed) == 1);
}

TEST_CASE("messages from a node that is not connected are answered with DISCONNECT and counted") {
  Harness h;
  h.recv(1, "08 0C 00 00 01 00 00 41");  // PUBLISH QoS 0
  h.recv(1, "04 0D 00 01");              // garbage-length PUBACK: malformed
  h.recv(1, "07 0D 00 01 00 02 00");     // PUBACK from nobody: dropped silently
  CHECK(h.take() == Events{"send " + addr(1) + " 02 18"});
  CHECK(h.gw.counter(Counter::unknown_client) == 2);
  CHECK(h.gw.counter(Counter::malformed) == 1);
}
