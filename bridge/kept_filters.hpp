#pragma once
// Which topics a kept session (CleanSession=0, or a sleeping node) subscribes to, readable from
// Paho's receive thread. The loop replaces the set when the stored sessions change; the message
// callback asks it whether an arriving QoS 1/2 message must reach the inbox before Paho
// acknowledges it. Most downlink is then not written at all: messages for clean sessions cost no
// write, as the gateway promises them nothing across a crash.
//
// Filters are in the broker's topic space (mount point applied). Matching uses the core's
// subscription tree, the same rules that decide delivery.
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/core/subscription_tree.hpp"

namespace mqttsn::bridge {

class KeptFilters {
 public:
  void replace(const std::vector<std::string>& filters);
  bool matches(std::string_view topic) const;
  std::size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::unique_ptr<SubscriptionTree> tree_;  // null: no filter
  std::size_t count_ = 0;
};

}  // namespace mqttsn::bridge
