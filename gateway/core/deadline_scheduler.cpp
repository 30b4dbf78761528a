#include "deadline_scheduler.hpp"

#include <algorithm>

namespace mqttsn {

void DeadlineScheduler::schedule(Owner owner, Millis when) {
  std::optional<Millis>* current = deadline_of_(owner);
  if (!current || (*current && **current <= when)) return;
  *current = when;
  heap_.push_back(Entry{when, owner.slot, owner.serial});
  std::push_heap(heap_.begin(), heap_.end(), std::greater<>{});
}

void DeadlineScheduler::cancel(Owner owner) {
  if (std::optional<Millis>* current = deadline_of_(owner)) current->reset();
}

std::optional<Millis> DeadlineScheduler::deadline(Owner owner) const {
  const std::optional<Millis>* current = deadline_of_(owner);
  return current ? *current : std::nullopt;
}

bool DeadlineScheduler::is_current(const Entry& e) const {
  const std::optional<Millis>* current = deadline_of_(Owner{e.slot, e.serial});
  return current && *current == e.when;
}

void DeadlineScheduler::pop_top() const {
  std::pop_heap(heap_.begin(), heap_.end(), std::greater<>{});
  heap_.pop_back();
}

std::optional<Millis> DeadlineScheduler::next() const {
  while (!heap_.empty() && !is_current(heap_.front())) pop_top();
  if (heap_.empty()) return std::nullopt;
  return heap_.front().when;
}

std::optional<DeadlineScheduler::Owner> DeadlineScheduler::pop_due(Millis now) {
  while (!heap_.empty() && heap_.front().when <= now) {
    Entry e = heap_.front();
    pop_top();
    if (!is_current(e)) continue;
    deadline_of_(Owner{e.slot, e.serial})->reset();
    return Owner{e.slot, e.serial};
  }
  return std::nullopt;
}

void DeadlineScheduler::compact_if_over(std::size_t max_entries) {
  if (heap_.size() <= max_entries) return;
  // One entry per owner, in slot order: an owner scheduled, cancelled and scheduled again for the
  // same time has two entries that both look current.
  std::erase_if(heap_, [this](const Entry& e) { return !is_current(e); });
  std::sort(heap_.begin(), heap_.end(), [](const Entry& a, const Entry& b) { return a.slot < b.slot; });
  heap_.erase(std::unique(heap_.begin(), heap_.end(),
                          [](const Entry& a, const Entry& b) { return a.slot == b.slot; }),
              heap_.end());
  std::make_heap(heap_.begin(), heap_.end(), std::greater<>{});
}

}  // namespace mqttsn
