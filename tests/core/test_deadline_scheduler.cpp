// DeadlineScheduler on its own: one deadline per owner, earliest first, stale heap entries ignored.
#include <doctest/doctest.h>

#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "gateway/core/deadline_scheduler.hpp"

using namespace mqttsn;

namespace {

using Owner = DeadlineScheduler::Owner;

Millis ms(int n) {
  return Millis{n};
}

// Owners keep their deadlines themselves; here, by (slot, serial). An owner not in the map is gone.
struct Owners {
  std::map<std::pair<std::uint32_t, std::uint32_t>, std::optional<Millis>> deadlines;

  void add(Owner o) { deadlines[{o.slot, o.serial}]; }
  void remove(Owner o) { deadlines.erase({o.slot, o.serial}); }
  DeadlineScheduler::DeadlineOf lookup() {
    return [this](Owner o) -> std::optional<Millis>* {
      auto it = deadlines.find({o.slot, o.serial});
      return it == deadlines.end() ? nullptr : &it->second;
    };
  }
};

// A scheduler over owners in slots 0..3, each with serial slot + 1.
struct Fixture {
  Owners owners;
  DeadlineScheduler d{owners.lookup()};
  Fixture() {
    for (std::uint32_t slot = 0; slot < 4; ++slot) owners.add(Owner{slot, slot + 1});
  }
};

// Every owner due at `now`, in the order pop_due() gives them, as slots.
std::vector<std::uint32_t> due_slots(DeadlineScheduler& d, Millis now) {
  std::vector<std::uint32_t> out;
  while (std::optional<Owner> o = d.pop_due(now)) out.push_back(o->slot);
  return out;
}

}  // namespace

TEST_CASE("with nothing scheduled there is no next deadline and nothing is due") {
  Fixture f;
  DeadlineScheduler& d = f.d;
  CHECK_FALSE(d.next());
  CHECK_FALSE(d.pop_due(ms(1000000)));
  CHECK_FALSE(d.deadline(Owner{0, 1}));
}

TEST_CASE("owners come due earliest first, only once their time has come, and each only once") {
  Fixture f;
  DeadlineScheduler& d = f.d;
  d.schedule(Owner{0, 1}, ms(300));
  d.schedule(Owner{1, 2}, ms(100));
  d.schedule(Owner{2, 3}, ms(200));
  CHECK(d.next() == ms(100));
  CHECK(due_slots(d, ms(99)).empty());
  CHECK(due_slots(d, ms(200)) == std::vector<std::uint32_t>{1, 2});
  CHECK_FALSE(d.deadline(Owner{1, 2}));  // popped: cleared until scheduled again
  CHECK(d.deadline(Owner{0, 1}) == ms(300));
  CHECK(d.next() == ms(300));
  CHECK(due_slots(d, ms(1000)) == std::vector<std::uint32_t>{0});
  CHECK_FALSE(d.next());
}

TEST_CASE("a later deadline leaves the earlier one in place, an earlier one replaces it") {
  Fixture f;
  DeadlineScheduler& d = f.d;
  const Owner o{0, 1};
  d.schedule(o, ms(100));
  d.schedule(o, ms(500));  // the entry at 100 fires first; the owner is scheduled again from there
  CHECK(d.deadline(o) == ms(100));
  CHECK(d.heap_size() == 1);

  d.schedule(o, ms(50));
  CHECK(d.deadline(o) == ms(50));
  CHECK(d.next() == ms(50));
  CHECK(due_slots(d, ms(50)) == std::vector<std::uint32_t>{0});
  // The superseded entry at 100 is stale: it does not fire.
  CHECK(due_slots(d, ms(1000)).empty());
  CHECK_FALSE(d.next());
}

TEST_CASE("a cancelled deadline neither fires nor counts as the next one") {
  Fixture f;
  DeadlineScheduler& d = f.d;
  d.schedule(Owner{0, 1}, ms(100));
  d.schedule(Owner{1, 2}, ms(200));
  d.cancel(Owner{0, 1});
  CHECK_FALSE(d.deadline(Owner{0, 1}));
  CHECK(d.next() == ms(200));
  CHECK(due_slots(d, ms(1000)) == std::vector<std::uint32_t>{1});
}

TEST_CASE("an owner that is gone has no deadline, and a new owner in its slot is not woken for it") {
  Fixture f;
  DeadlineScheduler& d = f.d;
  d.schedule(Owner{0, 1}, ms(100));
  d.schedule(Owner{1, 2}, ms(200));
  f.owners.remove(Owner{0, 1});
  CHECK_FALSE(d.deadline(Owner{0, 1}));
  CHECK(d.next() == ms(200));

  f.owners.add(Owner{0, 5});  // the slot reused while serial 1's entry may still be in the heap
  d.schedule(Owner{0, 5}, ms(300));
  d.cancel(Owner{0, 1});  // names the owner before: no effect on serial 5
  CHECK(d.deadline(Owner{0, 5}) == ms(300));
  CHECK(due_slots(d, ms(250)) == std::vector<std::uint32_t>{1});
  std::optional<Owner> due = d.pop_due(ms(300));
  REQUIRE(due);
  CHECK(due->serial == 5);
  CHECK_FALSE(d.pop_due(ms(1000)));
}

TEST_CASE("an owner scheduled, cancelled and scheduled again for the same time comes due once") {
  Fixture f;
  DeadlineScheduler& d = f.d;
  d.schedule(Owner{0, 1}, ms(100));
  d.cancel(Owner{0, 1});
  d.schedule(Owner{0, 1}, ms(100));
  CHECK(d.heap_size() == 2);
  CHECK(due_slots(d, ms(100)) == std::vector<std::uint32_t>{0});
  CHECK_FALSE(d.next());
}

TEST_CASE("compaction keeps one entry per scheduled owner and the same order") {
  Fixture f;
  DeadlineScheduler& d = f.d;
  // Each owner's deadline moves earlier step by step: every step pushes, the earlier entries go stale.
  for (int step = 0; step < 10; ++step)
    for (std::uint32_t slot = 0; slot < 4; ++slot)
      d.schedule(Owner{slot, slot + 1}, ms(1000 - 10 * step + static_cast<int>(slot)));
  d.cancel(Owner{3, 4});
  d.cancel(Owner{2, 3});
  d.schedule(Owner{2, 3}, ms(912));  // its time again: two entries look current
  CHECK(d.heap_size() == 41);
  d.compact_if_over(41);  // not over: left as it is
  CHECK(d.heap_size() == 41);
  d.compact_if_over(40);
  CHECK(d.heap_size() == 3);
  CHECK(d.next() == ms(910));
  CHECK(due_slots(d, ms(2000)) == std::vector<std::uint32_t>{0, 1, 2});
}
