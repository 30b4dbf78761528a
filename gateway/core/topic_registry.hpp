#pragma once
// One client's normal topic ids (spec 4.4: one table per client, never a shared pool, so a stale id
// from one node cannot hit another node's topic). A small vector: a node uses a handful of topics,
// and a linear scan over a few 16-octet entries beats any hash map in time and memory.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "topic_table.hpp"

namespace mqttsn {

struct TopicMapping {
  TopicRef topic;
  std::uint16_t id = 0;
  // false while a gateway-initiated REGISTER waits for the client's REGACK: PUBLISHes on this topic
  // wait behind it (ordering), the client itself may already use the id.
  bool confirmed = true;
};

class TopicRegistry {
 public:
  const TopicMapping* find_id(std::uint16_t id) const {
    for (const auto& m : entries_)
      if (m.id == id) return &m;
    return nullptr;
  }
  TopicMapping* find_topic(const TopicRef& t) {
    for (auto& m : entries_)
      if (m.topic == t) return &m;
    return nullptr;
  }
  const TopicMapping* find_name(std::string_view name) const {
    for (const auto& m : entries_)
      if (m.topic.view() == name) return &m;
    return nullptr;
  }
  // Assigns the next free id; nullopt when `limit` ids are in use.
  std::optional<std::uint16_t> add(TopicRef topic, bool confirmed, std::size_t limit);
  // Puts back a mapping kept from an earlier run (the store); false when the id is taken.
  bool restore(std::uint16_t id, TopicRef topic);
  void confirm(std::uint16_t id);
  void erase(std::uint16_t id);
  void clear() {
    entries_.clear();
    entries_.shrink_to_fit();
    next_id_ = 1;
  }
  std::size_t size() const { return entries_.size(); }
  const std::vector<TopicMapping>& entries() const { return entries_; }

 private:
  std::vector<TopicMapping> entries_;
  std::uint16_t next_id_ = 1;
};

}  // namespace mqttsn
