#include "bridge/receive_hold.hpp"

#include <utility>

namespace mqttsn::bridge {

ReceiveHold::HoldId ReceiveHold::begin() {
  std::lock_guard lock(mutex_);
  if (closed_ || limit_.count() <= 0 || calls_ > 0 || state_ != State::idle) return 0;
  state_ = State::waiting;
  outcome_ = Outcome::keep;
  return ++current_;
}

ReceiveHold::Outcome ReceiveHold::wait() {
  std::unique_lock lock(mutex_);
  const auto deadline = std::chrono::steady_clock::now() + limit_;
  answered_.wait_until(lock, deadline, [&] { return state_ != State::waiting; });
  if (state_ == State::waiting) {
    // Ran out: an answer the loop gives from now on is too late to count.
    state_ = State::ended_wait;
    outcome_ = Outcome::keep;
  }
  return outcome_;
}

bool ReceiveHold::end() {
  bool deferred = false;
  {
    std::lock_guard lock(mutex_);
    state_ = State::idle;
    deferred = std::exchange(deferred_, false);
  }
  ended_.notify_all();
  return deferred;
}

void ReceiveHold::settle(HoldId id, Outcome outcome) {
  {
    std::lock_guard lock(mutex_);
    if (state_ != State::waiting || id != current_) return;
    state_ = State::answered;
    outcome_ = outcome;
  }
  answered_.notify_all();
}

ReceiveHold::Call::Call(ReceiveHold& gate, bool deferrable) : gate_(gate) {
  std::unique_lock lock(gate_.mutex_);
  if (gate_.state_ != State::idle) {
    if (deferrable) {
      gate_.deferred_ = true;
      return;
    }
    if (gate_.state_ == State::waiting) {
      gate_.state_ = State::answered;
      gate_.outcome_ = Outcome::keep;
      gate_.answered_.notify_all();
    }
    gate_.ended_.wait(lock, [&] { return gate_.state_ == State::idle; });
  }
  ++gate_.calls_;
  ok_ = true;
}

ReceiveHold::Call::~Call() {
  if (!ok_) return;
  std::lock_guard lock(gate_.mutex_);
  --gate_.calls_;
}

void ReceiveHold::close() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    if (state_ != State::waiting) return;
    state_ = State::answered;
    outcome_ = Outcome::keep;
  }
  answered_.notify_all();
}

bool ReceiveHold::waiting(HoldId id) const {
  std::lock_guard lock(mutex_);
  return state_ == State::waiting && id == current_;
}

bool ReceiveHold::holding() const {
  std::lock_guard lock(mutex_);
  return state_ != State::idle;
}

}  // namespace mqttsn::bridge
