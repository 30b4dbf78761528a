// The gate before a node's broker connection: the connection limit refuses, the rate queues in order.
#include <doctest/doctest.h>

#include "bridge/node_connect_gate.hpp"

using namespace mqttsn;
using namespace mqttsn::bridge;
using Verdict = NodeConnectGate::Verdict;

namespace {
NodeConnectRequest req(std::string id, bool clean = true) {
  NodeConnectRequest r;
  r.client_id = std::move(id);
  r.clean_session = clean;
  return r;
}
std::vector<std::string> ids(const std::vector<NodeConnectRequest>& rs) {
  std::vector<std::string> out;
  for (const auto& r : rs) out.push_back(r.client_id);
  return out;
}
}  // namespace

TEST_CASE("node connect gate: without limits every connection opens at once") {
  NodeConnectGate g({});
  for (int i = 0; i < 1000; ++i)
    CHECK(g.offer(req("n" + std::to_string(i)), i, Millis{0}) == Verdict::open_now);
  CHECK(g.waiting() == 0);
  CHECK_FALSE(g.next_due());
}

TEST_CASE("node connect gate: past max_connections a node is refused, waiting ones count") {
  NodeConnectGate g({.max_connections = 3, .rate = 1});
  CHECK(g.offer(req("a"), 0, Millis{0}) == Verdict::open_now);
  CHECK(g.offer(req("b"), 1, Millis{0}) == Verdict::queued);
  CHECK(g.offer(req("c"), 1, Millis{0}) == Verdict::queued);
  CHECK(g.offer(req("d"), 1, Millis{0}) == Verdict::refused);
  // A node already waiting repeats its CONNECT: it keeps its place, it is not refused.
  CHECK(g.offer(req("b", false), 1, Millis{0}) == Verdict::queued);
  CHECK(g.cancel("c"));
  CHECK_FALSE(g.cancel("c"));
  CHECK(g.offer(req("d"), 1, Millis{0}) == Verdict::queued);
  auto due = g.take_due(Millis{1000});
  REQUIRE(due.size() == 1);
  CHECK(due[0].client_id == "b");
  CHECK_FALSE(due[0].clean_session);  // the latest CONNECT's settings
}

TEST_CASE("node connect gate: at a rate the requests wait and leave in the order they came") {
  NodeConnectGate g({.max_connections = 0, .rate = 100});
  std::vector<std::string> opened;
  Millis now{5000};
  for (int i = 0; i < 500; ++i) {
    auto v = g.offer(req("n" + std::to_string(i)), opened.size(), now);
    REQUIRE(v != Verdict::refused);
    if (v == Verdict::open_now) opened.push_back("n" + std::to_string(i));
  }
  CHECK(opened.size() == 100);  // a second's worth at once
  CHECK(g.waiting() == 400);
  int turns = 0;
  while (auto due = g.next_due()) {
    REQUIRE(*due >= now);
    now = *due;
    auto taken = ids(g.take_due(now));
    REQUIRE_FALSE(taken.empty());
    opened.insert(opened.end(), taken.begin(), taken.end());
    ++turns;
  }
  REQUIRE(opened.size() == 500);
  for (int i = 0; i < 500; ++i) CHECK(opened[static_cast<std::size_t>(i)] == "n" + std::to_string(i));
  // 400 more at 100 a second: four seconds, not less.
  CHECK(now >= Millis{5000 + 3990});
  CHECK(now <= Millis{5000 + 4100});
  CHECK(turns >= 4);
}

TEST_CASE("node connect gate: a later node does not pass one that waits") {
  NodeConnectGate g({.max_connections = 0, .rate = 1});
  CHECK(g.offer(req("a"), 0, Millis{0}) == Verdict::open_now);
  CHECK(g.offer(req("b"), 1, Millis{0}) == Verdict::queued);
  // The token earned meanwhile is b's, not c's.
  CHECK(g.offer(req("c"), 1, Millis{1500}) == Verdict::queued);
  CHECK(ids(g.take_due(Millis{1500})) == std::vector<std::string>{"b"});
  CHECK(ids(g.take_due(Millis{2600})) == std::vector<std::string>{"c"});
}

TEST_CASE("node connect gate: the gateway's own connections share the rate and come after nodes") {
  NodeConnectGate g({.max_connections = 3, .rate = 2});
  // 300 connections the broker dropped: two a second, the burst first.
  int taken = 0;
  for (int i = 0; i < 300; ++i) taken += g.take_background(3, false, Millis{0}) ? 1 : 0;
  CHECK(taken == 2);
  CHECK_FALSE(g.take_background(3, false, Millis{400}));
  CHECK(g.take_background(3, false, Millis{500}));
  // A node's CONNECT that waits is served before any of them.
  CHECK(g.offer(req("a"), 1, Millis{500}) == Verdict::queued);
  CHECK_FALSE(g.take_background(1, false, Millis{5000}));
  CHECK(ids(g.take_due(Millis{5000})) == std::vector<std::string>{"a"});
  CHECK(g.take_background(2, false, Millis{5000}));
  // A new connection counts against the limit; one made again does not.
  CHECK_FALSE(g.take_background(3, true, Millis{9000}));
  CHECK(g.take_background(2, true, Millis{9000}));
  CHECK(g.take_background(3, false, Millis{9000}));
}
