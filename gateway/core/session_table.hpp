#pragma once
// The gateway's sessions: owned in numbered slots, found by the client's link address (every datagram)
// or by its client id (CONNECT, a waking PINGREQ, persistence).
//
// Slot numbers are reused once their session is destroyed, so what outlives a call (a result awaited
// from the upstream, a deadline, a subscribe waiting for the broker) names a session by slot and serial:
// the serial is unique per session ever created, and find_by_slot() finds nothing once the session it
// named is gone, rather than a newer session in the same slot.
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "session.hpp"

namespace mqttsn {

class SessionTable {
 public:
  class Iterator;

  SessionTable() = default;
  SessionTable(const SessionTable&) = delete;
  SessionTable& operator=(const SessionTable&) = delete;

  Session* find_by_peer(const PeerRef& peer) const;
  Session* find_by_client_id(std::string_view client_id) const;
  // The session in `slot` if it is still the one that was created with `serial`.
  Session* find_by_slot(std::uint32_t slot, std::uint32_t serial) const;
  // The session in `slot`, for references its destruction removes (the subscription tree's
  // subscribers), which therefore never outlive it.
  Session* in_slot(std::uint32_t slot) const { return slot < slots_.size() ? slots_[slot].get() : nullptr; }

  // A new session with a fresh serial. Neither its peer nor its client id may be in use by another
  // session: each index holds one session per key.
  Session& create(const PeerRef& peer, std::string_view client_id);
  // The session is reached at `peer` from now on (same precondition as create()).
  void rebind(Session& s, const PeerRef& peer);
  // Frees the session and its slot; `s` dangles afterwards.
  void destroy(Session& s);
  void clear();

  std::size_t size() const { return by_peer_.size(); }
  // Highest slot number ever used + 1 (slots are reused, never given back).
  std::size_t slot_count() const { return slots_.size(); }

  // The live sessions, in slot order. Destroying a session invalidates iterators.
  Iterator begin() const;
  Iterator end() const;

  // Empty when every session is indexed under its own peer and client id and nothing else is.
  std::vector<std::string> invariant_violations() const;

 private:
  using Slots = std::vector<std::unique_ptr<Session>>;

  // The indexes are sets of Session* hashed by the session's own peer / client id, looked up
  // transparently by PeerRef / string_view: one pointer per node, the key is not stored twice.
  struct ByPeerHash {
    using is_transparent = void;
    std::size_t operator()(const PeerRef& p) const noexcept { return PeerRefHash{}(p); }
    std::size_t operator()(const Session* s) const noexcept { return PeerRefHash{}(PeerRef::of(s->peer)); }
  };
  struct ByPeerEq {
    using is_transparent = void;
    static PeerRef key(const PeerRef& p) { return p; }
    static PeerRef key(const Session* s) { return PeerRef::of(s->peer); }
    template <class A, class B>
    bool operator()(const A& a, const B& b) const noexcept {
      return key(a) == key(b);
    }
  };
  struct ByIdHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view id) const noexcept { return std::hash<std::string_view>{}(id); }
    std::size_t operator()(const Session* s) const noexcept { return (*this)(s->client_id); }
  };
  struct ByIdEq {
    using is_transparent = void;
    static std::string_view key(std::string_view id) { return id; }
    static std::string_view key(const Session* s) { return s->client_id; }
    template <class A, class B>
    bool operator()(const A& a, const B& b) const noexcept {
      return key(a) == key(b);
    }
  };

  Slots slots_;
  std::vector<std::uint32_t> free_slots_;
  std::uint32_t next_serial_ = 1;
  std::unordered_set<Session*, ByPeerHash, ByPeerEq> by_peer_;
  std::unordered_set<Session*, ByIdHash, ByIdEq> by_client_id_;
};

class SessionTable::Iterator {
 public:
  using iterator_category = std::forward_iterator_tag;
  using value_type = Session;
  using difference_type = std::ptrdiff_t;
  using pointer = Session*;
  using reference = Session&;

  Iterator() = default;
  Session& operator*() const { return **at_; }
  Session* operator->() const { return at_->get(); }
  Iterator& operator++() {
    ++at_;
    skip_free();
    return *this;
  }
  Iterator operator++(int) {
    Iterator before = *this;
    ++*this;
    return before;
  }
  friend bool operator==(const Iterator& a, const Iterator& b) { return a.at_ == b.at_; }

 private:
  friend class SessionTable;
  Iterator(Slots::const_iterator at, Slots::const_iterator end) : at_(at), end_(end) { skip_free(); }
  void skip_free() {
    while (at_ != end_ && !*at_) ++at_;
  }

  Slots::const_iterator at_;
  Slots::const_iterator end_;
};

inline SessionTable::Iterator SessionTable::begin() const {
  return Iterator(slots_.begin(), slots_.end());
}
inline SessionTable::Iterator SessionTable::end() const {
  return Iterator(slots_.end(), slots_.end());
}

}  // namespace mqttsn
