#pragma once
// An UpstreamEvents that records everything, for the bridge's tests.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bridge/upstream.hpp"

namespace mqttsn::bridge::test {

struct Downlink {
  std::string topic;
  std::string payload;
  int qos = 0;
  bool retain = false;
  InboxId inbox = 0;
};

class RecordingEvents : public UpstreamEvents {
 public:
  DownlinkReceipt on_message(std::string_view topic, Bytes payload, QoS qos, bool retain,
                             InboxId inbox) override {
    messages.push_back({std::string(topic), std::string(payload.begin(), payload.end()), qos, retain, inbox});
    return {};
  }
  void on_publish_result(PublishId id, PublishResult result) override {
    results[id] = result;
    result == PublishResult::congested ? ++acks_failed : ++acks_ok;
  }
  void on_suback(std::string_view filter, std::optional<QoS> granted) override {
    subacks.emplace_back(std::string(filter), granted);
  }
  void on_state(UpstreamState s) override { states.push_back(s); }

  bool saw_state(UpstreamState s) const {
    for (auto x : states)
      if (x == s) return true;
    return false;
  }
  UpstreamState state() const { return states.empty() ? UpstreamState::stopped : states.back(); }

  std::vector<Downlink> messages;
  std::map<PublishId, PublishResult> results;
  std::size_t acks_ok = 0;
  std::size_t acks_failed = 0;
  std::vector<std::pair<std::string, std::optional<QoS>>> subacks;
  std::vector<UpstreamState> states;
};

inline Bytes bytes_of(const std::string& s) {
  return Bytes(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

}  // namespace mqttsn::bridge::test
