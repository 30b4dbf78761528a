#pragma once
// Holding Paho's acknowledgement of a downlink message until an awake node has acknowledged it.
//
// A QoS 1 message for a kept session must not be acknowledged to the broker (Paho sends the PUBACK
// when the message callback returns) before it is either on disk or delivered. Writing it to the
// inbox costs a sync per message, which is right for a sleeping node but wasteful for an awake one
// that acknowledges within milliseconds. So the message callback first hands the message to the
// loop and waits, for at most `limit`, for the loop to report that every session it reached has
// acknowledged it (settle(delivered)). Only when that does not happen in time, or a node that is
// away or asleep keeps the message (settle(keep)), is it written to the inbox; either way the
// broker is acknowledged only after.
//
// Why a wait on the receive thread is safe: Paho calls the message callback with its client lock
// held, and every Paho call the loop makes takes that lock. A loop blocked in a Paho call could not
// take the node's acknowledgement, so the two would wait on each other. Hence the gate: the loop
// announces each Paho call (Call); a hold begins only when no call is in progress, and while one is
// active the loop defers its Paho calls (publish, subscribe) until ended() and waits only for the
// rare calls that cannot wait (connect, disconnect, destroy), which cut the hold short first.
//
// Cost of a hold to the rest of the connection: Paho's receive thread, which also carries the
// broker's acknowledgements of uplink messages and its pings, waits with it, and uplink messages
// wait in the bridge's queue; both for at most `limit`, normally for one round trip to a node.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace mqttsn::bridge {

class ReceiveHold {
 public:
  enum class Outcome : std::uint8_t {
    delivered,  // every session the message reached has acknowledged it: nothing to write
    keep,       // write it: a node away or asleep keeps it, the wait ran out, or the gateway closes
  };

  explicit ReceiveHold(std::chrono::milliseconds limit) : limit_(limit) {}

  // ---- Paho's receive thread (the message callback)
  // Starts a hold and names it; 0 when none may start (a Paho call in progress, holds switched
  // off, closed). The name travels with the message, so that a late answer about an earlier hold
  // (one that ran out) can never settle this one.
  using HoldId = std::uint64_t;
  HoldId begin();
  // Waits until the loop settles the hold or `limit` has passed (then: keep).
  Outcome wait();
  // The callback is about to return: the loop may call Paho again. true when the loop deferred a
  // call meanwhile (and wants to hear that it may make it now).
  bool end();

  // ---- The loop thread
  // Answers hold `id` (ignored when it is not the one in progress, or it already ran out).
  void settle(HoldId id, Outcome outcome);
  // A Paho call. `deferrable`: when a hold is in progress, the call does not happen (ok() is false)
  // and the caller tries again after the hold ended. Otherwise the call waits for the hold, which
  // it first cuts short (keep).
  class Call {
   public:
    Call(ReceiveHold& gate, bool deferrable);
    ~Call();
    Call(const Call&) = delete;
    Call& operator=(const Call&) = delete;
    bool ok() const { return ok_; }
    explicit operator bool() const { return ok_; }

   private:
    ReceiveHold& gate_;
    bool ok_ = false;
  };
  // No further holds (shutdown): the one in progress, if any, is cut short.
  void close();

  bool holding() const;
  bool waiting(HoldId id) const;  // `id` is in progress, not answered and not run out
  std::chrono::milliseconds limit() const { return limit_; }

 private:
  enum class State : std::uint8_t { idle, waiting, answered, ended_wait };

  const std::chrono::milliseconds limit_;
  mutable std::mutex mutex_;
  std::condition_variable answered_;  // the receive thread waits on it
  std::condition_variable ended_;     // a Call that cannot be deferred waits on it
  State state_ = State::idle;
  Outcome outcome_ = Outcome::keep;
  HoldId current_ = 0;
  int calls_ = 0;          // Paho calls in progress on the loop thread (0 or 1)
  bool deferred_ = false;  // a deferrable call was refused during the current hold
  bool closed_ = false;
};

}  // namespace mqttsn::bridge
