#include "topic_table.hpp"

#include <cstring>
#include <new>

namespace mqttsn {

TopicTable::~TopicTable() {
  // Every owner of a TopicRef lives inside the Gateway and is destroyed before the table; anything
  // left here would be a leak, so free it rather than keep dangling memory.
  for (auto* e : set_) ::operator delete(e);
}

TopicRef TopicTable::intern(std::string_view name) {
  if (auto it = set_.find(name); it != set_.end()) return TopicRef(*it);
  void* mem = ::operator new(sizeof(detail::TopicEntry) + name.size());
  auto* e = new (mem) detail::TopicEntry{this, 0, static_cast<std::uint32_t>(name.size())};
  if (!name.empty()) std::memcpy(reinterpret_cast<char*>(e + 1), name.data(), name.size());
  set_.insert(e);
  return TopicRef(e);
}

TopicRef TopicTable::find(std::string_view name) const {
  if (auto it = set_.find(name); it != set_.end()) return TopicRef(*it);
  return {};
}

void TopicTable::erase(detail::TopicEntry* e) {
  set_.erase(e);
  ::operator delete(e);
}

}  // namespace mqttsn
