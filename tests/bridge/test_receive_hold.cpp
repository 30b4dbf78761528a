// The gate between Paho's receive thread, which holds a message for the nodes, and the loop, which
// answers the hold and makes every Paho call.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "bridge/receive_hold.hpp"

using mqttsn::bridge::ReceiveHold;
using namespace std::chrono_literals;
using Outcome = ReceiveHold::Outcome;

namespace {
// The receive thread's side of one hold: begin, wait, end.
struct Held {
  ReceiveHold::HoldId id = 0;
  std::future<std::pair<Outcome, bool>> done;  // the outcome, and whether a call was deferred
};

Held hold_on_thread(ReceiveHold& hold) {
  Held h;
  h.id = hold.begin();
  REQUIRE(h.id != 0);
  h.done = std::async(std::launch::async, [&hold] {
    const Outcome o = hold.wait();
    const bool deferred = hold.end();
    return std::pair{o, deferred};
  });
  return h;
}
}  // namespace

TEST_CASE("receive hold: the loop's answer ends the wait, a late or foreign answer changes nothing") {
  ReceiveHold hold(10s);
  Held h = hold_on_thread(hold);
  hold.settle(h.id + 1, Outcome::delivered);  // not this hold
  CHECK(h.done.wait_for(50ms) == std::future_status::timeout);
  CHECK(hold.waiting(h.id));
  hold.settle(h.id, Outcome::delivered);
  REQUIRE(h.done.wait_for(5s) == std::future_status::ready);
  CHECK(h.done.get().first == Outcome::delivered);
  CHECK_FALSE(hold.holding());

  Held next = hold_on_thread(hold);
  CHECK(next.id != h.id);
  hold.settle(h.id, Outcome::delivered);  // an answer about the earlier hold
  CHECK(next.done.wait_for(50ms) == std::future_status::timeout);
  hold.settle(next.id, Outcome::keep);
  REQUIRE(next.done.wait_for(5s) == std::future_status::ready);
  CHECK(next.done.get().first == Outcome::keep);
}

TEST_CASE("receive hold: without an answer the hold runs out and the message is kept") {
  ReceiveHold hold(30ms);
  const auto start = std::chrono::steady_clock::now();
  Held h = hold_on_thread(hold);
  REQUIRE(h.done.wait_for(5s) == std::future_status::ready);
  CHECK(h.done.get().first == Outcome::keep);
  CHECK(std::chrono::steady_clock::now() - start >= 30ms);
  hold.settle(h.id, Outcome::delivered);  // too late: ignored
  CHECK_FALSE(hold.holding());
}

TEST_CASE("receive hold: a deferrable call waits for the end of the hold, which says so") {
  ReceiveHold hold(10s);
  Held h = hold_on_thread(hold);
  {
    const ReceiveHold::Call call(hold, true);
    CHECK_FALSE(call.ok());
  }
  hold.settle(h.id, Outcome::delivered);
  REQUIRE(h.done.wait_for(5s) == std::future_status::ready);
  CHECK(h.done.get() == std::pair{Outcome::delivered, true});
  const ReceiveHold::Call call(hold, true);
  CHECK(call.ok());
}

TEST_CASE("receive hold: a call that cannot wait cuts the hold short and proceeds after it ended") {
  ReceiveHold hold(10s);
  Held h = hold_on_thread(hold);
  const auto start = std::chrono::steady_clock::now();
  {
    const ReceiveHold::Call call(hold, false);
    CHECK(call.ok());
    CHECK_FALSE(hold.holding());
  }
  CHECK(std::chrono::steady_clock::now() - start < 5s);
  REQUIRE(h.done.wait_for(5s) == std::future_status::ready);
  CHECK(h.done.get().first == Outcome::keep);
}

TEST_CASE("receive hold: none begins during a Paho call, with no wait configured, or after close") {
  ReceiveHold hold(10s);
  {
    const ReceiveHold::Call call(hold, true);
    REQUIRE(call.ok());
    CHECK(hold.begin() == 0);
  }
  ReceiveHold off(0ms);
  CHECK(off.begin() == 0);

  Held h = hold_on_thread(hold);
  hold.close();  // the hold in progress is cut short
  REQUIRE(h.done.wait_for(5s) == std::future_status::ready);
  CHECK(h.done.get().first == Outcome::keep);
  CHECK(hold.begin() == 0);
}
