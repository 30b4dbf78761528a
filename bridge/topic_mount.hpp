#pragma once
// The optional mount point: a prefix prepended to uplink topics and filters and stripped from
// downlink topics, so several gateways can share one broker without colliding.
#include <optional>
#include <string>
#include <string_view>

namespace mqttsn::bridge {

class TopicMount {
 public:
  explicit TopicMount(std::string prefix = {}) : prefix_(std::move(prefix)) {}

  const std::string& prefix() const { return prefix_; }
  // Topic or filter as the broker sees it.
  std::string upstream(std::string_view topic) const;
  // Topic as the core sees it; nullopt when the message is outside the mount point (not delivered).
  std::optional<std::string_view> downstream(std::string_view upstream_topic) const;

 private:
  std::string prefix_;
};

}  // namespace mqttsn::bridge
