#pragma once
// DurableRecords in memory, as the app's SQLite table would hold them: what is left after an
// exchange, and which messages were noted delivered.
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "bridge/durable_records.hpp"

namespace mqttsn::bridge::test {

class MemoryRecords : public DurableRecords {
 public:
  bool put(std::string_view key, std::span<const std::uint8_t> value, MessageTag tag) override {
    std::lock_guard lock(mutex_);
    auto& r = records_[std::string(key)];
    r.value.assign(value.begin(), value.end());
    if (tag != 0) r.tag = tag;
    return true;
  }
  bool remove(std::string_view key, MessageTag delivered) override {
    std::lock_guard lock(mutex_);
    records_.erase(std::string(key));
    if (delivered != 0) delivered_.push_back(delivered);
    return true;
  }
  std::optional<std::vector<std::uint8_t>> get(std::string_view key) override {
    std::lock_guard lock(mutex_);
    auto it = records_.find(std::string(key));
    if (it == records_.end()) return std::nullopt;
    return it->second.value;
  }
  std::vector<Record> load() override {
    std::lock_guard lock(mutex_);
    std::vector<Record> out;
    for (const auto& [k, r] : records_) out.push_back({k, r.value, r.tag});
    return out;
  }
  bool clear() override {
    std::lock_guard lock(mutex_);
    records_.clear();
    return true;
  }
  std::int64_t add_to_inbox(std::string_view, std::span<const std::uint8_t>, int, bool, std::string_view,
                            bool) override {
    return 1;
  }
  void abandoned(MessageTag) override {}

  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return records_.size();
  }
  std::vector<MessageTag> delivered() const {
    std::lock_guard lock(mutex_);
    return delivered_;
  }

 private:
  struct Stored {
    std::vector<std::uint8_t> value;
    MessageTag tag = 0;
  };
  mutable std::mutex mutex_;
  std::map<std::string, Stored> records_;
  std::vector<MessageTag> delivered_;
};

}  // namespace mqttsn::bridge::test
