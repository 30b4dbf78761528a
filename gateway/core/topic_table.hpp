#pragma once
// Topic strings interned once for the whole gateway: every client registry, queued message and
// subscription refers to a topic through a TopicRef (one pointer), so 10,000 nodes mapping the same
// topic cost one string. An entry is a single allocation (header + characters) and is freed when
// its last reference goes.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <unordered_set>

namespace mqttsn {

class TopicTable;

namespace detail {
struct TopicEntry {
  TopicTable* owner;
  std::uint32_t refs;
  std::uint32_t size;
  const char* chars() const { return reinterpret_cast<const char*>(this + 1); }
  std::string_view view() const { return {chars(), size}; }
};
}  // namespace detail

class TopicRef {
 public:
  TopicRef() = default;
  TopicRef(const TopicRef& o) : e_(o.e_) { retain(); }
  TopicRef(TopicRef&& o) noexcept : e_(o.e_) { o.e_ = nullptr; }
  TopicRef& operator=(const TopicRef& o) {
    if (this != &o) {
      release();
      e_ = o.e_;
      retain();
    }
    return *this;
  }
  TopicRef& operator=(TopicRef&& o) noexcept {
    if (this != &o) {
      release();
      e_ = o.e_;
      o.e_ = nullptr;
    }
    return *this;
  }
  ~TopicRef() { release(); }

  std::string_view view() const { return e_ ? e_->view() : std::string_view{}; }
  explicit operator bool() const { return e_ != nullptr; }
  // Interned: equal names <=> equal pointers.
  friend bool operator==(const TopicRef& a, const TopicRef& b) { return a.e_ == b.e_; }
  const void* identity() const { return e_; }

 private:
  friend class TopicTable;
  explicit TopicRef(detail::TopicEntry* e) : e_(e) { retain(); }
  void retain() {
    if (e_) ++e_->refs;
  }
  void release();
  detail::TopicEntry* e_ = nullptr;
};

class TopicTable {
 public:
  TopicTable() = default;
  TopicTable(const TopicTable&) = delete;
  TopicTable& operator=(const TopicTable&) = delete;
  ~TopicTable();

  TopicRef intern(std::string_view name);
  TopicRef find(std::string_view name) const;  // empty ref when not interned
  std::size_t size() const { return set_.size(); }

 private:
  friend class TopicRef;
  void erase(detail::TopicEntry* e);

  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
    std::size_t operator()(const detail::TopicEntry* e) const noexcept { return (*this)(e->view()); }
  };
  struct Eq {
    using is_transparent = void;
    static std::string_view v(std::string_view s) { return s; }
    static std::string_view v(const detail::TopicEntry* e) { return e->view(); }
    template <class A, class B>
    bool operator()(const A& a, const B& b) const noexcept {
      return v(a) == v(b);
    }
  };
  std::unordered_set<detail::TopicEntry*, Hash, Eq> set_;
};

inline void TopicRef::release() {
  if (e_ && --e_->refs == 0) e_->owner->erase(e_);
  e_ = nullptr;
}

}  // namespace mqttsn
