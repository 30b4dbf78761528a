#pragma once
// When each session next needs on_tick(): one deadline per owner (a session slot and the serial of
// the session in it), earliest first.
//
// The owner stores its own current deadline and the scheduler finds it through the lookup it is
// built with: a session has room for it anyway, and a table of its own here would cost more memory
// per client than the field does. An owner the lookup no longer finds has no deadline.
//
// A min-heap with lazy invalidation: a heap entry counts only while it is its owner's current
// deadline; a cancelled or superseded one stays in the heap until it reaches the top or the heap is
// compacted. A deadline that moves later is not pushed again: the earlier entry fires, the owner is
// re-evaluated and scheduled again (at most one spurious wake per supervision period), so a client
// that sends often does not grow the heap with every message.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "outputs.hpp"

namespace mqttsn {

class DeadlineScheduler {
 public:
  struct Owner {
    std::uint32_t slot = 0;
    std::uint32_t serial = 0;
  };
  // Where `owner` keeps its current deadline; nullptr once it is gone.
  using DeadlineOf = std::function<std::optional<Millis>*(Owner owner)>;

  explicit DeadlineScheduler(DeadlineOf deadline_of) : deadline_of_(std::move(deadline_of)) {}

  // The owner's deadline becomes `when`, unless it has an earlier one already (that one fires first).
  void schedule(Owner owner, Millis when);
  void cancel(Owner owner);
  std::optional<Millis> deadline(Owner owner) const;

  // The earliest deadline; nullopt when none is set. Drops the stale entries above it.
  std::optional<Millis> next() const;
  // The owner of the earliest deadline at or before `now`, whose deadline is then cleared (the caller
  // schedules it again once it has done what was due); nullopt when nothing is due.
  std::optional<Owner> pop_due(Millis now);

  // Stale entries above the earliest deadline go when they reach the top; the others wait below it.
  // This drops them all once the heap holds more than `max_entries`, keeping it bounded by the
  // number of owners the caller can have.
  void compact_if_over(std::size_t max_entries);
  std::size_t heap_size() const { return heap_.size(); }

 private:
  struct Entry {
    Millis when;
    std::uint32_t slot;
    std::uint32_t serial;
    friend bool operator>(const Entry& a, const Entry& b) { return a.when > b.when; }
  };

  bool is_current(const Entry& e) const;
  void pop_top() const;

  DeadlineOf deadline_of_;
  // A binary heap (std::push_heap / std::pop_heap, earliest on top). next() is const for the caller
  // (it changes no deadline) but drops stale entries as it looks.
  mutable std::vector<Entry> heap_;
};

}  // namespace mqttsn
