#include "bridge/kept_filters.hpp"

namespace mqttsn::bridge {

void KeptFilters::replace(const std::vector<std::string>& filters) {
  // Built outside the lock: the receive thread waits only for the pointer swap.
  std::unique_ptr<SubscriptionTree> tree;
  if (!filters.empty()) {
    tree = std::make_unique<SubscriptionTree>();
    for (const auto& f : filters) tree->insert(f).subscribers.push_back(Subscriber{});
  }
  std::lock_guard lock(mutex_);
  tree_.swap(tree);
  count_ = filters.size();
}

bool KeptFilters::matches(std::string_view topic) const {
  std::lock_guard lock(mutex_);
  if (!tree_) return false;
  bool found = false;
  tree_->match(topic, [&](const Subscriber&) { found = true; });
  return found;
}

std::size_t KeptFilters::size() const {
  std::lock_guard lock(mutex_);
  return count_;
}

}  // namespace mqttsn::bridge
