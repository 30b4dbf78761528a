#include "session_table.hpp"

namespace mqttsn {

Session* SessionTable::find_by_peer(const PeerRef& peer) const {
  auto it = by_peer_.find(peer);
  return it == by_peer_.end() ? nullptr : *it;
}

Session* SessionTable::find_by_client_id(std::string_view client_id) const {
  auto it = by_client_id_.find(client_id);
  return it == by_client_id_.end() ? nullptr : *it;
}

Session* SessionTable::find_by_slot(std::uint32_t slot, std::uint32_t serial) const {
  Session* s = in_slot(slot);
  return s && s->serial == serial ? s : nullptr;
}

Session& SessionTable::create(const PeerRef& peer, std::string_view client_id) {
  std::uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<std::uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  auto s = std::make_unique<Session>();
  s->slot = slot;
  s->serial = next_serial_++;
  s->client_id = std::string(client_id);
  s->peer.address = *peer.address;
  s->peer.forwarded = peer.forwarded;
  s->peer.node_id = std::string(peer.node_id);
  slots_[slot] = std::move(s);
  Session& ref = *slots_[slot];
  by_peer_.insert(&ref);
  by_client_id_.insert(&ref);
  return ref;
}

void SessionTable::rebind(Session& s, const PeerRef& peer) {
  // The index hashes the session's own peer: out under the old one, back in under the new one.
  by_peer_.erase(&s);
  s.peer.address = *peer.address;
  s.peer.forwarded = peer.forwarded;
  s.peer.node_id = std::string(peer.node_id);
  by_peer_.insert(&s);
}

void SessionTable::destroy(Session& s) {
  by_peer_.erase(&s);
  by_client_id_.erase(&s);
  std::uint32_t slot = s.slot;
  slots_[slot].reset();
  free_slots_.push_back(slot);
}

void SessionTable::clear() {
  by_peer_.clear();
  by_client_id_.clear();
  slots_.clear();
  free_slots_.clear();
}

std::vector<std::string> SessionTable::invariant_violations() const {
  std::vector<std::string> bad;
  std::size_t live = 0;
  for (const Session& s : *this) {
    ++live;
    auto pit = by_peer_.find(PeerRef::of(s.peer));
    if (pit == by_peer_.end() || *pit != &s) bad.push_back("session " + s.client_id + " not indexed by peer");
    auto cit = by_client_id_.find(std::string_view(s.client_id));
    if (cit == by_client_id_.end() || *cit != &s)
      bad.push_back("session " + s.client_id + " not indexed by id");
  }
  if (live != by_peer_.size() || live != by_client_id_.size()) bad.push_back("index sizes differ");
  return bad;
}

}  // namespace mqttsn
