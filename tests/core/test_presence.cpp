// Presence (gateway/core/presence.hpp): every way a node comes and goes tells its presence once,
// and the operator actions (operator.cpp) behave like the protocol's own flows.
#include <algorithm>
#include <utility>

#include "gateway/core/session_snapshot.hpp"
#include "harness.hpp"

using namespace mqttsn;
using namespace mqttsn::test;

namespace {

const char* kPingreqC1 = "04 16 63 31";  // PINGREQ "c1"
const char* kSleep60 = "04 18 00 3C";    // DISCONNECT, sleep 60 s
const char* kDisconnect = "02 18";

struct RecordingPresence final : PresenceObserver {
  std::vector<std::string> told;
  std::vector<std::string> places;
  void on_presence(std::string_view client_id, PresencePlace where, Presence p) override {
    told.push_back(std::string(client_id) + " " + to_string(p));
    places.push_back(where.address.to_string() + (where.forwarded ? " forwarded" : ""));
  }
  std::vector<std::string> take() { return std::exchange(told, {}); }
};

struct PresenceHarness : Harness {
  explicit PresenceHarness(GatewayOptions o = test_options()) : Harness(o) {
    gw.set_presence_observer(&seen);
  }
  RecordingPresence seen;
};

GatewayOptions expiring_after(int seconds) {
  GatewayOptions o = test_options();
  o.session_expiry = Millis{seconds * 1000};
  return o;
}

}  // namespace

TEST_CASE("a clean node: online at CONNECT, asleep through its sleep and wakes, offline at DISCONNECT") {
  PresenceHarness h;
  h.connect(1, "c1");
  CHECK(h.seen.take() == Events{"c1 online"});
  h.reg(1, "a");
  h.subscribe(1, "a", 1);
  h.recv(1, kSleep60);
  CHECK(h.seen.take() == Events{"c1 asleep"});
  h.upstream("a", "1", 1);
  h.take();
  h.recv(1, kPingreqC1);  // awake: the buffered message goes out
  const auto sent = h.take();
  REQUIRE(sent.size() == 1);
  const std::string publish = sent[0].substr(sent[0].rfind(addr(1)) + addr(1).size() + 1);
  const std::string msg_id = publish.substr(publish.size() - 8, 5);  // before the payload "31"
  h.recv(1, "07 0D 00 01 " + msg_id + " 00");  // its PUBACK: the wake ends, asleep again
  CHECK(h.take() == Events{"send " + addr(1) + " 02 17"});
  CHECK(h.seen.take().empty());                      // a wake is part of the sleep cycle
  h.recv_msg(1, Connect{false, true, 1, 60, "c1"});  // connects again as an active node
  h.take();
  CHECK(h.seen.take() == Events{"c1 online"});
  h.recv(1, kDisconnect);
  CHECK(h.seen.take() == Events{"c1 offline"});
  CHECK(h.gw.clients().empty());
  h.check_invariants();
}

TEST_CASE("a kept node: lost when its keep-alive runs out, removed when its session expires") {
  PresenceHarness h(expiring_after(600));
  h.connect(1, "c1", false, 10);
  h.seen.take();
  h.advance_s(16);
  CHECK(h.seen.take() == Events{"c1 lost"});
  h.connect(1, "c1", false, 10);
  CHECK(h.seen.take() == Events{"c1 online"});
  h.recv(1, kDisconnect);
  CHECK(h.seen.take() == Events{"c1 offline"});
  h.advance_s(601);
  CHECK(h.seen.take() == Events{"c1 removed"});
  CHECK(h.gw.clients().empty());
}

TEST_CASE("a clean node lost by its keep-alive is told lost once, then forgotten") {
  PresenceHarness h;
  h.connect(1, "c1", true, 10);
  h.seen.take();
  h.advance_s(16);
  CHECK(h.seen.take() == Events{"c1 lost"});
  CHECK(h.gw.clients().empty());
}

TEST_CASE("presence names where the node is: its own address, or its forwarder's") {
  PresenceHarness h;
  h.connect(1, "c1");
  // Len=5 FE Ctrl=0 node id "N1" | CONNECT clean 60 s "c2"
  h.recv(9, "05 FE 00 4E 31 08 04 04 01 00 3C 63 32");
  h.recv(1, kDisconnect);
  CHECK(h.seen.take() == Events{"c1 online", "c2 online", "c1 offline"});
  CHECK(h.seen.places == Events{addr(1), addr(9) + " forwarded", addr(1)});
}

TEST_CASE("another client id at a node's address: the old one is lost, the new one online") {
  PresenceHarness h;
  h.connect(1, "c1");
  h.connect(1, "c2");
  CHECK(h.seen.take() == Events{"c1 online", "c1 lost", "c2 online"});
  // The same id from a new address is the same node moving: still online, nothing told.
  h.connect(2, "c2");
  CHECK(h.seen.take().empty());
}

TEST_CASE("a restored session tells the state it was stored in") {
  std::vector<SessionSnapshot> snaps;
  {
    Harness h;
    h.connect(1, "awake", false, 0);
    h.connect(2, "sleeper", false, 0);
    h.recv(2, "04 18 00 3C");
    for (const auto& c : h.gw.clients())
      if (auto s = h.gw.snapshot(c.client_id)) snaps.push_back(*s);
  }
  REQUIRE(snaps.size() == 2);
  PresenceHarness h;
  for (const auto& s : snaps) REQUIRE(h.gw.restore(s, h.now));
  auto told = h.seen.take();
  std::sort(told.begin(), told.end());
  CHECK(told == Events{"awake online", "sleeper asleep"});
}

TEST_CASE("the operator disconnects a clean node: DISCONNECT sent, no will, session gone, offline") {
  PresenceHarness h;
  h.recv(1, "0C 04 0C 01 00 1E 6E 6F 64 65 34 32");              // CONNECT with will, "node42"
  h.recv(1, "10 07 30 73 74 61 74 75 73 2F 6E 6F 64 65 34 32");  // WILLTOPIC
  h.recv(1, "09 09 6F 66 66 6C 69 6E 65");                       // WILLMSG
  h.take();
  h.seen.take();
  CHECK(h.gw.disconnect_client("node42", h.now));
  CHECK(h.take() == Events{"send " + addr(1) + " 02 18"});  // no will published
  CHECK(h.seen.take() == Events{"node42 offline"});
  CHECK(h.gw.clients().empty());
  CHECK(h.gw.counter(Counter::operator_disconnects) == 1);
  CHECK_FALSE(h.gw.disconnect_client("node42", h.now));
  CHECK_FALSE(h.gw.disconnect_client("nobody", h.now));
  h.check_invariants();
}

TEST_CASE("the operator disconnects a kept node: its session stays, with its subscriptions") {
  PresenceHarness h;
  h.gw.set_change_tracking(true);
  h.connect(1, "c1", false, 60);
  h.reg(1, "a");
  h.subscribe(1, "a", 1);
  h.gw.take_changed_sessions();
  h.seen.take();
  CHECK(h.gw.disconnect_client("c1", h.now));
  CHECK(h.seen.take() == Events{"c1 offline"});
  REQUIRE(h.gw.clients().size() == 1);
  CHECK(h.gw.clients()[0].state == ClientState::disconnected);
  CHECK(h.gw.subscriptions_of("c1") == std::vector<std::pair<std::string, QoS>>{{"a", 1}});
  CHECK(h.gw.take_changed_sessions() == std::vector<std::string>{"c1"});  // stored as disconnected
  CHECK_FALSE(h.gw.disconnect_client("c1", h.now));                       // not connected any more
  h.check_invariants();
}

TEST_CASE("the operator clears a sleeping node's buffer: queued messages go, counted, bytes given back") {
  PresenceHarness h;
  h.connect(1, "c1");
  h.reg(1, "a");
  h.subscribe(1, "a", 1);
  h.recv(1, kSleep60);
  h.upstream("a", "1", 1);
  h.upstream("a", "22", 0);
  h.upstream("a", "333", 1);
  h.take();
  REQUIRE(h.gw.clients()[0].buffered == 3);
  REQUIRE(h.gw.buffered_bytes() > 0);
  CHECK(h.gw.clear_buffer("c1") == std::optional<std::size_t>{3});
  CHECK(h.gw.clients()[0].buffered == 0);
  CHECK(h.gw.buffered_bytes() == 0);
  CHECK(h.gw.counter(Counter::dropped_by_operator) == 3);
  CHECK(h.gw.clear_buffer("c1") == std::optional<std::size_t>{0});
  CHECK_FALSE(h.gw.clear_buffer("nobody"));
  h.check_invariants();
  // Waking, it finds nothing: PINGRESP at once.
  h.recv(1, kPingreqC1);
  CHECK(h.take() == Events{"send " + addr(1) + " 02 17"});
}

TEST_CASE("one node's topic mappings and subscriptions") {
  PresenceHarness h;
  h.connect(1, "c1");
  h.connect(2, "c2");
  const auto id = h.reg(1, "sensors/t");
  h.reg(2, "other");
  h.subscribe(1, "cmd/#", 1);
  const auto topics = h.gw.topic_mappings_of("c1");
  REQUIRE(topics.size() == 1);
  CHECK(topics[0].topic_id == id);
  CHECK(topics[0].topic == "sensors/t");
  CHECK(h.gw.subscriptions_of("c1") == std::vector<std::pair<std::string, QoS>>{{"cmd/#", 1}});
  CHECK(h.gw.subscriptions_of("c2").empty());
  CHECK(h.gw.topic_mappings_of("nobody").empty());
  REQUIRE(h.gw.client("c2"));
  CHECK(h.gw.client("c2")->client_id == "c2");
  CHECK_FALSE(h.gw.client("nobody"));
}
