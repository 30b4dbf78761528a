// Per-node upstream after a gateway restart: restored sessions of nodes that are awake or asleep get
// their own connections made again at once (will and subscriptions with them), those of nodes away do
// not, and the broker's answers for them are nobody's error.
#include <algorithm>

#include "gateway/core/session_snapshot.hpp"
#include "harness.hpp"

using namespace mqttsn;
using namespace mqttsn::test;

namespace {

GatewayOptions per_node_options() {
  GatewayOptions o = test_options();
  o.upstream_per_node = true;
  return o;
}

SessionSnapshot kept(std::string client_id, std::uint8_t port, ClientState state) {
  SessionSnapshot s;
  s.client_id = std::move(client_id);
  s.address = LinkAddress::udp4(0, {127, 0, 0, 1}, port);
  s.state = state;
  s.clean_session = true;
  s.keep_alive_s = 30;
  s.sleep_s = 600;
  s.subscriptions = {{"cmd/" + s.client_id + "/#", 1, TopicIdType::normal}};
  s.will = Will{"state/" + s.client_id, {0x6F, 0x66, 0x66}, 1, true};
  return s;
}

}  // namespace

TEST_CASE("per-node restore: awake and sleeping nodes get their connections back, nodes away do not") {
  Harness h(per_node_options());
  REQUIRE(h.gw.restore(kept("sleeper", 1, ClientState::asleep), h.now));
  REQUIRE(h.gw.restore(kept("awake", 2, ClientState::active), h.now));
  REQUIRE(h.gw.restore(kept("away", 3, ClientState::disconnected), h.now));
  // Nothing goes to the shared connection for them: their subscriptions are their connections'.
  CHECK(h.take().empty());

  CHECK(h.gw.reopen_node_upstreams() == 2);
  const Events events = h.take();
  CHECK(events.size() == 4);
  for (const char* id : {"sleeper", "awake"}) {
    const std::string name(id);
    CHECK(std::count(events.begin(), events.end(),
                     "node_connect " + name + " c1 k30 will state/" + name + " q1 r1") == 1);
    CHECK(std::count(events.begin(), events.end(), "node_subscribe " + name + " cmd/" + name + "/# q1") == 1);
  }
  // Asked once: a second call (another start of the upstream) opens nothing twice.
  CHECK(h.gw.reopen_node_upstreams() == 0);

  // The broker's answers: nobody waits for them, and they are not stale.
  h.gw.on_node_connack("sleeper", ReturnCode::accepted, h.now);
  h.gw.on_node_suback("sleeper", "cmd/sleeper/#", QoS{1}, h.now);
  CHECK(h.take().empty());
  CHECK(h.gw.counter(Counter::stale_upstream_ack) == 0);
  h.check_invariants();
}

TEST_CASE("per-node restore: a refused connection is asked for again at the node's next CONNECT") {
  Harness h(per_node_options());
  REQUIRE(h.gw.restore(kept("sleeper", 1, ClientState::asleep), h.now));
  CHECK(h.gw.reopen_node_upstreams() == 1);
  h.take();
  h.gw.on_node_connack("sleeper", ReturnCode::not_supported, h.now);
  // The session stays (it is the node's, with its buffer); only the connection is gone.
  REQUIRE(h.gw.clients().size() == 1);
  CHECK(h.gw.clients()[0].state == ClientState::asleep);
  CHECK(h.take().empty());
  CHECK(h.gw.reopen_node_upstreams() == 1);
  h.check_invariants();
}

TEST_CASE("per-node restore: a shared gateway reopens nothing") {
  Harness h;
  REQUIRE(h.gw.restore(kept("sleeper", 1, ClientState::asleep), h.now));
  h.take();
  CHECK(h.gw.reopen_node_upstreams() == 0);
  CHECK(h.take().empty());
}

TEST_CASE("mixed restore: a node marked per_node gets its connection back, a shared one its filter") {
  Harness h;
  h.policy.per_node = {"marked"};
  REQUIRE(h.gw.restore(kept("marked", 1, ClientState::asleep), h.now));
  REQUIRE(h.gw.restore(kept("plain", 2, ClientState::asleep), h.now));
  // Only the shared node's filter goes to the shared connection.
  CHECK(h.take() == Events{"subscribe cmd/plain/# q1"});
  CHECK(h.gw.reopen_node_upstreams() == 1);
  CHECK(h.take() == Events{"node_connect marked c1 k30 will state/marked q1 r1",
                           "node_subscribe marked cmd/marked/# q1"});
  h.gw.on_upstream_suback("cmd/plain/#", QoS{1}, h.now);
  h.check_invariants();
  // What the shared connection brings is for the shared node; the marked one's own connection
  // brings its own.
  h.upstream("cmd/marked/x", "m", 1);
  CHECK(h.gw.clients()[0].buffered + h.gw.clients()[1].buffered == 0);
  h.gw.on_node_message("marked", "cmd/marked/x", Bytes(reinterpret_cast<const std::uint8_t*>("m"), 1), 1,
                       false, h.now);
  std::size_t buffered = 0;
  for (const auto& c : h.gw.clients())
    if (c.client_id == "marked") buffered = c.buffered;
  CHECK(buffered == 1);
  h.check_invariants();
}
