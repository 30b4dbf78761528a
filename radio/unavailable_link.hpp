#pragma once
// A configured link that cannot exist in this process (its module did not load): it keeps its place
// in the daemon's list, so every other link keeps its index, and start() says why it does not run.
#include <string>
#include <utility>

#include "gateway/core/log.hpp"
#include "radio/link.hpp"

namespace mqttsn::radio {

class UnavailableLink final : public Link {
 public:
  UnavailableLink(std::uint8_t index, std::string kind, std::string reason)
      : Link(index), kind_(std::move(kind)), reason_(std::move(reason)) {}

  std::string_view name() const override { return kind_; }
  int start(uv_loop_t*) override {
    MQTTSN_LOG(error, "link %u (%s): %s", index_, kind_.c_str(), reason_.c_str());
    return UV_ENOSYS;
  }
  void close() override {}
  bool send(const LinkAddress&, Bytes) override {
    ++stats_.not_open_drops;
    return false;
  }
  bool broadcast(Bytes, std::uint8_t) override { return false; }
  std::size_t max_payload() const override { return 0; }
  const LinkStats& stats() const override { return stats_; }
  bool is_up() const override { return false; }

 private:
  std::string kind_, reason_;
  LinkStats stats_;
};

}  // namespace mqttsn::radio
