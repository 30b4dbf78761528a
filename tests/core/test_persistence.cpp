// Sessions across a gateway restart: snapshot bytes, what a restored session does, and which
// events mark a session as changed (a keep-alive ping must never cost a store write).
#include <algorithm>

#include "gateway/core/session_snapshot.hpp"
#include "harness.hpp"

using namespace mqttsn;
using namespace mqttsn::test;

namespace {

SessionSnapshot full_snapshot() {
  SessionSnapshot s;
  s.client_id = "node-7";
  s.address = LinkAddress::xbee(1, 0x0013A20040522BAAull, 0x1234);
  s.forwarded = true;
  s.node_id = std::string("\x00\xFF", 2);
  s.state = ClientState::asleep;
  s.clean_session = false;
  s.keep_alive_s = 60;
  s.sleep_s = 300;
  s.topics = {{1, "sensors/7/t"}, {9, "sensors/7/h"}};
  s.subscriptions = {{"cmd/7/#", 1, TopicIdType::normal}, {"ab", 2, TopicIdType::short_name}};
  s.will = Will{"state/7", {0x00, 0x01, 0xFF}, 1, true};
  s.downlink = {{5, "cmd/7/x", {}, 0, false}, {9, "cmd/7/y", {1, 2, 3}, 2, true}};
  s.qos2_received = {7, 65535};
  return s;
}

// Restores `snaps` into a fresh gateway (what the daemon does at start).
struct Restarted {
  explicit Restarted(const std::vector<SessionSnapshot>& snaps) {
    for (const auto& s : snaps) REQUIRE(h.gw.restore(s, h.now));
  }
  Harness h;
};

std::vector<SessionSnapshot> kept_sessions(Harness& h) {
  std::vector<SessionSnapshot> out;
  for (const auto& c : h.gw.clients())
    if (auto s = h.gw.snapshot(c.client_id)) out.push_back(*s);
  return out;
}

}  // namespace

TEST_CASE("snapshot bytes: every field but the downlink messages survives encode/decode") {
  const SessionSnapshot s = full_snapshot();
  const auto bytes = encode_snapshot(s);
  const auto back = decode_snapshot(bytes);
  REQUIRE(back);
  SessionSnapshot expected = s;
  expected.downlink.clear();  // rows of their own in the store, never in the session's record
  CHECK(*back == expected);
  CHECK(back->address.xbee16 == 0x1234);
  // So a message more for a sleeping node leaves the record's bytes as they were.
  SessionSnapshot more = s;
  more.downlink.push_back({10, "cmd/7/z", {4}, 1, false});
  CHECK(encode_snapshot(more) == bytes);
}

TEST_CASE("snapshot bytes: a first-version record, which held the downlink messages, still reads") {
  SessionSnapshot s = full_snapshot();
  s.qos2_received.clear();
  auto bytes = encode_snapshot(s);
  // Version 1 is version 2 with the downlink list before the QoS 2 ids (the last 4 octets here).
  std::vector<std::uint8_t> list{0, 0, 0, 1, 0, 0, 0, 3, 'a', '/', 'b', 0, 0, 0, 2, 7, 8, 1, 0};
  bytes.insert(bytes.end() - 4, list.begin(), list.end());
  bytes[0] = 1;
  const auto back = decode_snapshot(bytes);
  REQUIRE(back);
  REQUIRE(back->downlink.size() == 1);
  CHECK(back->downlink[0].seq == 0);
  CHECK(back->downlink[0].topic == "a/b");
  CHECK(back->downlink[0].payload == std::vector<std::uint8_t>{7, 8});
  CHECK(back->downlink[0].qos == 1);
  CHECK(back->client_id == s.client_id);
  CHECK(back->subscriptions == s.subscriptions);
}

TEST_CASE("snapshot bytes: truncated, extended, or of an unknown version are refused") {
  const auto bytes = encode_snapshot(full_snapshot());
  for (std::size_t n = 0; n < bytes.size(); ++n)
    CHECK_MESSAGE(!decode_snapshot(std::span(bytes.data(), n)), "prefix of " << n << " octets");
  auto longer = bytes;
  longer.push_back(0);
  CHECK(!decode_snapshot(longer));
  auto future = bytes;
  future[0] = 3;
  CHECK(!decode_snapshot(future));
  // A huge count in a short record must not allocate for it.
  std::vector<std::uint8_t> evil{1, 0, 0, 0, 1, 'x', 0, 1, 0, 0, 0, 0, 0xFF, 0xFE, 0,    0,
                                 0, 0, 0, 0, 0, 0,   0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF};
  CHECK(!decode_snapshot(evil));
}

TEST_CASE("only kept sessions have a snapshot: CleanSession=0, or asleep") {
  Harness h;
  h.connect(1, "clean", true);
  h.connect(2, "kept", false);
  h.connect(3, "sleepy", true);
  h.recv(3, "04 18 00 3C");
  h.take();
  CHECK(!h.gw.snapshot("clean"));
  CHECK(h.gw.snapshot("kept"));
  CHECK(h.gw.snapshot("sleepy"));
  CHECK(!h.gw.snapshot("nobody"));
}

TEST_CASE("a kept session after a restart: old topic ids publish, pings answered, subscription delivers") {
  Harness before;
  before.connect(1, "c1", false);
  const auto id = before.reg(1, "sensors/t");
  before.subscribe(1, "cmd/+", 1);
  const auto snaps = kept_sessions(before);
  REQUIRE(snaps.size() == 1);

  Restarted after(snaps);
  auto& h = after.h;
  // The restored filter is subscribed upstream again (the broker may have lost it too).
  CHECK(h.take() == Events{"subscribe cmd/+ q1"});
  h.gw.on_upstream_suback("cmd/+", 1, h.now);
  REQUIRE(id == 1);
  h.recv(1, "09 0C 20 00 01 00 05 34 32");  // PUBLISH QoS 1, topic id 1, msg id 5, "42"
  CHECK(h.take() == Events{"publish sensors/t q1 r0 34 32", "send " + addr(1) + " 07 0D 00 01 00 05 00"});
  h.recv(1, "02 16");
  CHECK(h.take() == Events{"send " + addr(1) + " 02 17"});
  h.upstream("cmd/go", "x", 1);
  const auto e = h.take();
  REQUIRE(e.size() == 1);  // REGISTER for the new name first
  CHECK(e[0].rfind("send " + addr(1) + " 0C 0A 00 02", 0) == 0);
  CHECK(h.gw.counter(Counter::sessions_restored) == 1);
  h.check_invariants();
}

TEST_CASE("a restored active client that stays silent is lost after its keep-alive from the restart") {
  Harness before;
  before.connect(1, "c1", false, 10);
  Restarted after(kept_sessions(before));
  auto& h = after.h;
  h.advance_s(14);
  CHECK(h.gw.clients()[0].state == ClientState::active);
  h.advance_s(2);
  CHECK(h.gw.clients()[0].state == ClientState::lost);
}

TEST_CASE("a sleeping client's buffer survives a restart and is flushed when it wakes") {
  Harness before;
  before.connect(1, "c1", true);
  before.reg(1, "a");
  before.subscribe(1, "a", 1);
  before.recv(1, "04 18 00 3C");
  before.take();
  before.upstream("a", "1", 0);
  before.upstream("a", "2", 1);
  Restarted after(kept_sessions(before));
  auto& h = after.h;
  h.take();
  CHECK(h.gw.clients()[0].state == ClientState::asleep);
  CHECK(h.gw.clients()[0].buffered == 2);
  h.recv(1, "04 16 63 31");  // PINGREQ "c1"
  CHECK(h.take() == Events{"send " + addr(1) + " 08 0C 00 00 01 00 00 31",
                           "send " + addr(1) + " 08 0C 20 00 01 00 01 32"});
  h.recv(1, "07 0D 00 01 00 01 00");
  CHECK(h.take() == Events{"send " + addr(1) + " 02 17"});
}

TEST_CASE("a QoS 2 exchange in progress completes after a restart without a second upstream publish") {
  Harness before;
  before.connect(1, "c1", false);
  before.reg(1, "t");
  before.recv(1, "08 0C 40 00 01 00 07 41");  // PUBLISH QoS 2, id 1, msg id 7, "A"
  CHECK(before.take() == Events{"publish t q2 r0 41", "send " + addr(1) + " 04 0F 00 07"});
  Restarted after(kept_sessions(before));
  auto& h = after.h;
  h.recv(1, "08 0C C0 00 01 00 07 41");  // the node did not see PUBREC: DUP retransmission
  CHECK(h.take() == Events{"send " + addr(1) + " 04 0F 00 07"});
  h.recv(1, "04 10 00 07");  // PUBREL
  CHECK(h.take() == Events{"send " + addr(1) + " 04 0E 00 07"});
}

TEST_CASE("a disconnected CleanSession=0 client keeps receiving into its buffer, delivered on reconnect") {
  Harness h;
  h.connect(1, "c1", false);
  h.reg(1, "a");
  h.subscribe(1, "a", 1);
  h.recv(1, "02 18");  // DISCONNECT
  h.take();
  h.upstream("a", "1", 1);
  CHECK(h.take().empty());
  CHECK(h.gw.counter(Counter::dropped_offline) == 0);
  h.recv_msg(1, Connect{false, false, 1, 60, "c1"});
  CHECK(h.take() == Events{"send " + addr(1) + " 03 05 00", "send " + addr(1) + " 08 0C 20 00 01 00 01 31"});
  h.check_invariants();
}

TEST_CASE("CleanSession=1 on reconnect drops what a kept session had buffered") {
  Harness h;
  h.connect(1, "c1", false);
  h.reg(1, "a");
  h.subscribe(1, "a", 1);
  h.recv(1, "02 18");
  h.take();
  h.upstream("a", "1", 1);
  h.recv_msg(1, Connect{false, true, 1, 60, "c1"});
  CHECK(h.take() == Events{"unsubscribe a", "send " + addr(1) + " 03 05 00"});
  CHECK(!h.gw.snapshot("c1"));
  h.check_invariants();
}

TEST_CASE("change tracking: QoS 0/1 publishes and pings mark nothing, registering, QoS 2, leaving do") {
  Harness h;
  h.gw.set_change_tracking(true);
  h.connect(1, "c1", false);
  CHECK(h.gw.take_changed_sessions() == std::vector<std::string>{"c1"});
  h.reg(1, "a");
  CHECK(h.gw.take_changed_sessions() == std::vector<std::string>{"c1"});
  h.recv(1, "08 0C 00 00 01 00 00 31");     // PUBLISH QoS 0
  h.recv(1, "09 0C 20 00 01 00 05 34 32");  // PUBLISH QoS 1 (kept by the uplink queue, not the session)
  h.recv(1, "02 16");                       // PINGREQ
  h.take();
  CHECK(h.gw.take_changed_sessions().empty());
  h.recv(1, "08 0C 40 00 01 00 06 41");  // PUBLISH QoS 2: an id awaiting PUBREL is kept
  h.take();
  CHECK(h.gw.take_changed_sessions() == std::vector<std::string>{"c1"});
  h.recv(1, "02 18");  // DISCONNECT
  h.take();
  CHECK(h.gw.take_changed_sessions() == std::vector<std::string>{"c1"});
  h.connect(2, "c2", true);
  h.gw.take_changed_sessions();
  h.recv(2, "02 18");  // a clean session ends: the store must forget it if it had it
  h.take();
  CHECK(h.gw.take_changed_sessions() == std::vector<std::string>{"c2"});
  CHECK(!h.gw.snapshot("c2"));
}

TEST_CASE("restore refuses a second session for the same client id or address") {
  Harness h;
  auto s = full_snapshot();
  CHECK(h.gw.restore(s, h.now));
  CHECK(!h.gw.restore(s, h.now));
  s.client_id = "other";
  CHECK(!h.gw.restore(s, h.now));
  h.check_invariants();
}

TEST_CASE("an unknown node publishing QoS 1 with a registered id is told: invalid topic id") {
  Harness h;
  h.recv(1, "09 0C 20 00 03 00 05 34 32");
  CHECK(h.take() == Events{"send " + addr(1) + " 07 0D 00 03 00 05 02"});
  h.recv(1, "08 0C 00 00 03 00 00 31");  // QoS 0: nothing to answer but DISCONNECT
  CHECK(h.take() == Events{"send " + addr(1) + " 02 18"});
}

TEST_CASE("a QoS 2 downlink released to its node (PUBREC in) is not in the snapshot; one not released is") {
  Harness h;
  h.connect(1, "c1", false, 0);
  h.subscribe(1, "a/b", 2);
  h.upstream("a/b", "x", 2);
  h.upstream("a/b", "y", 2);
  h.take();
  auto before = h.gw.snapshot("c1");
  REQUIRE(before);
  CHECK(before->downlink.size() == 2);
  h.recv(1, "04 0F 00 01");  // PUBREC for "x": the node has it, only PUBCOMP remains
  h.take();
  auto after = h.gw.snapshot("c1");
  REQUIRE(after);
  REQUIRE(after->downlink.size() == 1);
  CHECK(after->downlink[0].payload == std::vector<std::uint8_t>{'y'});
  h.check_invariants();
}

TEST_CASE("QoS 0/1 downlink progress is a change that may wait, anything else must be stored now") {
  Harness h;
  h.gw.set_change_tracking(true);
  h.connect(1, "c1", false);
  h.subscribe(1, "a/b", 1);
  h.take();
  CHECK(h.gw.changes_urgent());  // CONNECT, SUBSCRIBE
  CHECK(h.gw.take_changed_sessions() == std::vector<std::string>{"c1"});
  CHECK_FALSE(h.gw.changes_urgent());

  h.upstream("a/b", "x", 1);          // queued and sent
  h.recv(1, "07 0D 00 01 00 01 00");  // its PUBACK
  CHECK(h.gw.take_changed_sessions() == std::vector<std::string>{"c1"});
  CHECK_FALSE(h.gw.changes_urgent());
  h.upstream("a/b", "x", 1);
  CHECK_FALSE(h.gw.changes_urgent());

  h.take();
  h.subscribe(1, "q/2", 2, 2);
  h.gw.take_changed_sessions();
  h.upstream("q/2", "y", 2);  // a QoS 2 exchange begins: a replay would repeat it
  CHECK(h.gw.changes_urgent());
}
