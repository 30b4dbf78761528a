#include "topic_registry.hpp"

#include <algorithm>

#include "messages.hpp"

namespace mqttsn {

std::optional<std::uint16_t> TopicRegistry::add(TopicRef topic, bool confirmed, std::size_t limit) {
  if (entries_.size() >= limit || entries_.size() >= 0xFFFD) return std::nullopt;
  // Ids count up and wrap, skipping the reserved 0x0000/0xFFFF and ids still in use, so a freed id
  // is not handed out again soon (a late PUBLISH with the old id then gets "invalid topic id").
  for (;;) {
    std::uint16_t id = next_id_;
    next_id_ = static_cast<std::uint16_t>(next_id_ + 1);
    if (next_id_ == kReservedTopicId) next_id_ = 1;
    if (id == kNoTopicId || id == kReservedTopicId || find_id(id)) continue;
    if (entries_.empty()) entries_.reserve(4);
    entries_.push_back(TopicMapping{std::move(topic), id, confirmed});
    return id;
  }
}

bool TopicRegistry::restore(std::uint16_t id, TopicRef topic) {
  if (id == kNoTopicId || id == kReservedTopicId || find_id(id)) return false;
  entries_.push_back(TopicMapping{std::move(topic), id, true});
  // New ids continue after the highest restored one, as they would have in the earlier run.
  if (id >= next_id_) next_id_ = static_cast<std::uint16_t>(id + 1 == kReservedTopicId ? 1 : id + 1);
  return true;
}

void TopicRegistry::confirm(std::uint16_t id) {
  for (auto& m : entries_)
    if (m.id == id) m.confirmed = true;
}

void TopicRegistry::erase(std::uint16_t id) {
  std::erase_if(entries_, [id](const TopicMapping& m) { return m.id == id; });
}

}  // namespace mqttsn
