// Per-node upstream (the transparent gateway): the node's CONNACK waits for its own broker
// connection, refusals reach the node, subscriptions and their messages are the node's alone, and the
// connection closes on DISCONNECT, and after the will when the node is lost.
#include "harness.hpp"

using namespace mqttsn;
using namespace mqttsn::test;

namespace {
const char* kConnectSensor1 = "0D 04 04 01 00 3C 73 65 6E 73 6F 72 31";      // clean, 60 s, "sensor1"
const char* kConnectWillClean = "0C 04 0C 01 00 1E 6E 6F 64 65 34 32";       // will+clean, 30 s, "node42"
const char* kWillTopic = "10 07 30 73 74 61 74 75 73 2F 6E 6F 64 65 34 32";  // QoS1 retain "status/node42"
const char* kWillMsg = "09 09 6F 66 66 6C 69 6E 65";                         // "offline"

GatewayOptions per_node_options() {
  GatewayOptions o = test_options();
  o.upstream_per_node = true;
  return o;
}

void connect_per_node(Harness& h, int n, std::string_view client_id) {
  h.recv_msg(n, Connect{false, true, 1, 60, client_id});
  REQUIRE(h.take() == Events{"node_connect " + std::string(client_id) + " c1 k60"});
  h.gw.on_node_connack(client_id, ReturnCode::accepted, h.now);
  REQUIRE(h.take() == Events{"send " + addr(n) + " 03 05 00"});
}
}  // namespace

TEST_CASE("per-node: CONNACK waits for the broker's answer on the node's own connection") {
  Harness h(per_node_options());
  h.recv(1, kConnectSensor1);
  CHECK(h.take() == Events{"node_connect sensor1 c1 k60"});
  CHECK(h.gw.clients()[0].state == ClientState::connecting);
  h.gw.on_node_connack("sensor1", ReturnCode::accepted, h.now);
  CHECK(h.take() == Events{"send " + addr(1) + " 03 05 00"});
  CHECK(h.gw.clients()[0].state == ClientState::active);
  h.check_invariants();
}

TEST_CASE("per-node: the will goes with the connection request") {
  Harness h(per_node_options());
  h.recv(1, kConnectWillClean);
  h.recv(1, kWillTopic);
  h.take();
  h.recv(1, kWillMsg);
  CHECK(h.take() == Events{"node_connect node42 c1 k30 will status/node42 q1 r1"});
}

TEST_CASE("per-node: a refusal by the broker is the node's CONNACK and ends the session") {
  Harness h(per_node_options());
  h.recv(1, kConnectSensor1);
  h.take();
  h.gw.on_node_connack("sensor1", ReturnCode::not_supported, h.now);
  CHECK(h.take() == Events{"send " + addr(1) + " 03 05 03", "node_close sensor1"});
  CHECK(h.gw.clients().empty());
  // A late answer for a session that is gone is ignored.
  h.gw.on_node_connack("sensor1", ReturnCode::accepted, h.now);
  CHECK(h.take().empty());
  CHECK(h.gw.counter(Counter::stale_upstream_ack) == 1);
  h.check_invariants();
}

TEST_CASE("per-node: no broker answer within the connect time ends the attempt and closes the connection") {
  Harness h(per_node_options());
  h.recv(1, kConnectSensor1);
  h.take();
  h.advance_s(31);
  CHECK(h.take() == Events{"node_close sensor1"});
  CHECK(h.gw.clients().empty());
}

TEST_CASE("per-node: publishes name the node, DISCONNECT closes its connection without the will") {
  Harness h(per_node_options());
  connect_per_node(h, 1, "sensor1");
  h.recv_msg(1, Publish{false, 0, false, TopicIdType::short_name, 0x6162, 0, Bytes{}});
  CHECK(h.take() == Events{"publish ab q0 r0"});
  REQUIRE(h.out.published.size() == 1);
  CHECK(h.out.published[0].client_id == "sensor1");
  h.recv(1, "02 18");
  CHECK(h.take() == Events{"send " + addr(1) + " 02 18", "node_close sensor1"});
}

TEST_CASE("per-node: a lost node's will goes up on its connection, then the connection closes") {
  Harness h(per_node_options());
  h.recv(1, kConnectWillClean);
  h.recv(1, kWillTopic);
  h.recv(1, kWillMsg);
  h.take();
  h.gw.on_node_connack("node42", ReturnCode::accepted, h.now);
  h.take();
  h.advance_s(46);
  CHECK(h.take() == Events{"publish status/node42 q1 r1 " + hex_of("offline"), "node_close node42"});
  CHECK(h.out.published.back().client_id == "node42");
}

TEST_CASE("per-node: subscriptions are made per node, and a message on a node's connection is its alone") {
  Harness h(per_node_options());
  connect_per_node(h, 1, "n1");
  connect_per_node(h, 2, "n2");
  h.recv_msg(1, Subscribe{false, 1, TopicIdType::normal, 7, "a/+", 0});
  CHECK(h.take() == Events{"node_subscribe n1 a/+ q1"});
  h.recv_msg(2, Subscribe{false, 1, TopicIdType::normal, 8, "a/+", 0});
  CHECK(h.take() == Events{"node_subscribe n2 a/+ q1"});
  h.gw.on_node_suback("n1", "a/+", QoS{1}, h.now);
  CHECK(h.take() == Events{"send " + addr(1) + " 08 13 20 00 00 00 07 00"});
  h.gw.on_node_suback("n2", "a/+", std::nullopt, h.now);
  CHECK(h.take() == Events{"send " + addr(2) + " 08 13 00 00 00 00 08 03"});
  h.check_invariants();

  // The same topic arriving on n1's connection reaches n1 (a REGISTER first), never n2.
  const std::string payload = "x";
  h.gw.on_node_message("n1", "a/b", Bytes(reinterpret_cast<const std::uint8_t*>(payload.data()), 1), 1, false,
                       h.now);
  auto e = h.take();
  REQUIRE(e.size() == 1);
  CHECK(e[0].rfind("send " + addr(1), 0) == 0);
  // Nothing through the shared path in a per-node gateway.
  h.upstream("a/b", "y", 1);
  CHECK(h.take().empty());

  h.recv_msg(1, Unsubscribe{TopicIdType::normal, 9, "a/+", 0});
  CHECK(h.take() == Events{"node_unsubscribe n1 a/+", "send " + addr(1) + " 04 15 00 09"});
  h.check_invariants();
}

TEST_CASE("shared mode asks for no node connections") {
  Harness h;
  h.recv(1, kConnectSensor1);
  CHECK(h.take() == Events{"send " + addr(1) + " 03 05 00"});
  h.recv(1, "02 18");
  CHECK(h.take() == Events{"send " + addr(1) + " 02 18"});
}

TEST_CASE("per-node: a node repeating its CONNECT while the broker answers asks again, without a close") {
  Harness h(per_node_options());
  h.recv(1, kConnectSensor1);
  CHECK(h.take() == Events{"node_connect sensor1 c1 k60"});
  h.recv(1, kConnectSensor1);
  CHECK(h.take() == Events{"node_connect sensor1 c1 k60"});
  h.gw.on_node_connack("sensor1", ReturnCode::accepted, h.now);
  CHECK(h.take() == Events{"send " + addr(1) + " 03 05 00"});
  h.check_invariants();
}

TEST_CASE("mixed: a node marked per_node has its own connection beside shared nodes") {
  Harness h;
  h.policy.per_node = {"own"};
  h.recv_msg(1, Connect{false, true, 1, 60, "shared1"});
  CHECK(h.take() == Events{"send " + addr(1) + " 03 05 00"});
  connect_per_node(h, 2, "own");
  h.check_invariants();

  // Both subscribe to the same filter: the shared node on the shared connection, the marked one on its own.
  h.recv_msg(1, Subscribe{false, 1, TopicIdType::normal, 7, "a/b", 0});
  CHECK(h.take() == Events{"subscribe a/b q1"});
  h.recv_msg(2, Subscribe{false, 1, TopicIdType::normal, 8, "a/b", 0});
  CHECK(h.take() == Events{"node_subscribe own a/b q1"});
  h.check_invariants();
  // The node's SUBACK does not answer the shared one, nor the other way round.
  h.gw.on_upstream_suback("a/b", QoS{1}, h.now);
  auto e = h.take();
  REQUIRE(e.size() == 1);
  CHECK(e[0].rfind("send " + addr(1), 0) == 0);
  h.check_invariants();
  h.gw.on_node_suback("own", "a/b", QoS{1}, h.now);
  e = h.take();
  REQUIRE(e.size() == 1);
  CHECK(e[0].rfind("send " + addr(2), 0) == 0);
  h.check_invariants();

  // The broker sends the message on both connections: each node gets it once.
  h.upstream("a/b", "m", 0);
  e = h.take();
  REQUIRE(e.size() == 1);
  CHECK(e[0].rfind("send " + addr(1), 0) == 0);
  h.gw.on_node_message("own", "a/b", Bytes(reinterpret_cast<const std::uint8_t*>("m"), 1), 0, false, h.now);
  e = h.take();
  REQUIRE(e.size() == 1);
  CHECK(e[0].rfind("send " + addr(2), 0) == 0);

  // The marked node's publishes name it (the daemon sends them on its connection); the shared one's too.
  h.recv_msg(2, Publish{false, 0, false, TopicIdType::short_name, 0x6162, 0, Bytes{}});
  CHECK(h.take() == Events{"publish ab q0 r0"});
  CHECK(h.out.published.back().client_id == "own");

  // The shared node leaving unsubscribes the shared connection although the marked node stays.
  h.recv(1, "02 18");
  CHECK(h.take() == Events{"send " + addr(1) + " 02 18", "unsubscribe a/b"});
  h.check_invariants();
  h.upstream("a/b", "m", 0);
  CHECK(h.take().empty());
  // The marked node's connection closes when it leaves; nothing on the shared connection.
  h.recv(2, "02 18");
  CHECK(h.take() == Events{"send " + addr(2) + " 02 18", "node_close own"});
  h.check_invariants();
}

TEST_CASE("mixed: the shared subscription made after a marked node's stays when the marked node leaves") {
  Harness h;
  h.policy.per_node = {"own"};
  connect_per_node(h, 2, "own");
  h.recv_msg(2, Subscribe{false, 1, TopicIdType::normal, 8, "a/#", 0});
  CHECK(h.take() == Events{"node_subscribe own a/# q1"});
  h.recv_msg(1, Connect{false, true, 1, 60, "shared1"});
  h.take();
  h.recv_msg(1, Subscribe{false, 0, TopicIdType::normal, 7, "a/#", 0});
  CHECK(h.take() == Events{"subscribe a/# q0"});
  h.gw.on_node_suback("own", "a/#", QoS{1}, h.now);
  h.take();
  h.gw.on_upstream_suback("a/#", QoS{0}, h.now);
  h.take();
  h.check_invariants();
  h.recv_msg(2, Unsubscribe{TopicIdType::normal, 9, "a/#", 0});
  CHECK(h.take() == Events{"node_unsubscribe own a/#", "send " + addr(2) + " 04 15 00 09"});
  h.check_invariants();
  h.upstream("a/x", "m", 0);
  auto e = h.take();
  REQUIRE(e.size() == 1);
  CHECK(e[0].rfind("send " + addr(1), 0) == 0);
}

TEST_CASE("mixed: a clean CONNECT after the mark was removed moves the node to the shared connection") {
  Harness h;
  h.policy.per_node = {"own"};
  connect_per_node(h, 2, "own");
  h.policy.per_node.clear();
  h.recv_msg(2, Connect{false, true, 1, 60, "own"});
  CHECK(h.take() == Events{"node_close own", "send " + addr(2) + " 03 05 00"});
  h.check_invariants();
}

TEST_CASE("mixed: which connection a node's session is on, whatever the list says now") {
  Harness h;
  h.policy.per_node = {"own"};
  h.recv_msg(1, Connect{false, true, 1, 60, "shared1"});
  h.take();
  connect_per_node(h, 2, "own");
  CHECK(h.gw.on_own_connection("own") == true);
  CHECK(h.gw.on_own_connection("shared1") == false);
  CHECK_FALSE(h.gw.on_own_connection("nobody").has_value());
  // A session keeps the connection it began on: the mark is read when a session starts.
  h.policy.per_node = {"shared1"};
  CHECK(h.gw.on_own_connection("own") == true);
  CHECK(h.gw.on_own_connection("shared1") == false);
}

TEST_CASE("per-node: a will update makes the connection again, answered when the broker accepts it") {
  Harness h(per_node_options());
  h.recv(1, kConnectWillClean);
  h.recv(1, kWillTopic);
  h.recv(1, kWillMsg);
  h.take();
  h.gw.on_node_connack("node42", ReturnCode::accepted, h.now);
  h.take();
  h.recv_msg(1, WillTopicUpd{false, 0, false, "status/new"});
  CHECK(h.take() == Events{"node_connect node42 c1 k30 will status/new q0 r0 update"});
  h.recv_msg(1, WillMsgUpd{Bytes(reinterpret_cast<const std::uint8_t*>("bye"), 3)});
  // The topic update is answered as the message update takes over; the last waits for the broker.
  CHECK(h.take() ==
        Events{"send " + addr(1) + " 03 1B 00", "node_connect node42 c1 k30 will status/new q0 r0 update"});
  h.gw.on_node_connack("node42", ReturnCode::accepted, h.now);
  CHECK(h.take() == Events{"send " + addr(1) + " 03 1D 00"});
  CHECK(h.gw.clients()[0].state == ClientState::active);
  // The node goes silent: the new will goes up.
  h.advance_s(46);
  CHECK(h.take() == Events{"publish status/new q0 r0 " + hex_of("bye"), "node_close node42"});
  h.check_invariants();
}

TEST_CASE("per-node: a will update the broker refuses ends the session") {
  Harness h(per_node_options());
  connect_per_node(h, 1, "sensor1");
  h.recv_msg(1, WillTopicUpd{false, 1, false, "status/s1"});
  CHECK(h.take() == Events{"node_connect sensor1 c1 k60 will status/s1 q1 r0 update"});
  h.gw.on_node_connack("sensor1", ReturnCode::not_supported, h.now);
  CHECK(h.take() ==
        Events{"send " + addr(1) + " 03 1B 03", "send " + addr(1) + " 02 18", "node_close sensor1"});
  CHECK(h.gw.clients().empty());
  h.check_invariants();
}

TEST_CASE("mixed: a will update of a shared node is answered at once") {
  Harness h;
  h.policy.per_node = {"own"};
  h.recv_msg(1, Connect{false, true, 1, 60, "shared1"});
  h.take();
  h.recv_msg(1, WillTopicUpd{false, 0, false, "status/x"});
  CHECK(h.take() == Events{"send " + addr(1) + " 03 1B 00"});
}

TEST_CASE("per-node: a CONNECT while a will update waits for the broker takes its place") {
  Harness h(per_node_options());
  connect_per_node(h, 1, "sensor1");
  h.recv_msg(1, WillTopicUpd{false, 1, false, "status/s1"});
  h.take();
  h.recv_msg(1, Connect{false, true, 1, 60, "sensor1"});
  CHECK(h.take() == Events{"node_connect sensor1 c1 k60"});
  h.gw.on_node_connack("sensor1", ReturnCode::accepted, h.now);
  CHECK(h.take() == Events{"send " + addr(1) + " 03 05 00"});  // a CONNACK, no WILLTOPICRESP
  CHECK(h.gw.clients()[0].state == ClientState::active);
  h.check_invariants();
}

TEST_CASE("mixed: a SUBACK for a node that moved to the other connection meanwhile grants nothing") {
  Harness h;
  h.recv_msg(1, Connect{false, true, 1, 60, "n1"});
  h.take();
  h.recv_msg(1, Subscribe{false, 1, TopicIdType::normal, 7, "a/b", 0});
  CHECK(h.take() == Events{"subscribe a/b q1"});
  // The admission list now marks it per_node, and it CONNECTs again with CleanSession.
  h.policy.per_node = {"n1"};
  h.recv_msg(1, Connect{false, true, 1, 60, "n1"});
  CHECK(h.take() == Events{"node_connect n1 c1 k60"});
  h.gw.on_node_connack("n1", ReturnCode::accepted, h.now);
  h.take();
  h.check_invariants();
  // The shared connection's answer to what it asked before: refused to the node, and the shared
  // subscription nobody holds goes.
  h.gw.on_upstream_suback("a/b", QoS{1}, h.now);
  CHECK(h.take() == Events{"send " + addr(1) + " 08 13 00 00 00 00 07 01", "unsubscribe a/b"});
  h.check_invariants();
  h.upstream("a/b", "m", 0);
  CHECK(h.take().empty());
}
