#pragma once
// Kept sessions (CleanSession=0, sleeping nodes) in the store. The core notes which sessions may
// have changed; at each flush of the durable stage their snapshots are written, and only those whose
// bytes differ from what the store holds (a digest per client): keep-alive pings, QoS 0 readings and
// QoS 1 readings never write a session.
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "gateway/core/gateway.hpp"
#include "gateway/core/session_snapshot.hpp"
#include "gateway/store/store.hpp"

namespace mqttsn::app {

class SessionSaver {
 public:
  // At start, before the first datagram: recreates the kept sessions in the core and turns its
  // change tracking on. Returns how many were restored (records that fail are logged and dropped).
  std::size_t restore(Gateway& core, store::Store& store, Millis now);
  // Once per loop turn: takes the core's changed sessions. true when something waits for save().
  bool collect(Gateway& core);
  // Inside the durable stage's transaction: writes what changed since the last save.
  void save(const Gateway& core, store::Store& store);
  // The transaction failed: what the store holds is unknown, write everything again.
  void forget_digests() { stored_digest_.clear(); }

  // The filters the kept sessions subscribe to, sorted, each once; changed since the last call?
  // Follows every save(): the upstream writes a QoS 1/2 message matching one to its inbox.
  bool take_kept_filters_changed() { return std::exchange(kept_filters_changed_, false); }
  std::vector<std::string> kept_filters() const;

  std::uint64_t written() const { return written_; }
  std::uint64_t unchanged() const { return unchanged_; }

 private:
  void note_filters(const std::string& client_id, const SessionSnapshot& snap);

  std::unordered_set<std::string> changed_;
  std::unordered_map<std::string, std::size_t> stored_digest_;  // per client id: what the store holds
  std::unordered_map<std::string, std::vector<std::string>> kept_filters_;  // per kept client id
  bool kept_filters_changed_ = false;
  std::uint64_t written_ = 0;
  std::uint64_t unchanged_ = 0;
};

}  // namespace mqttsn::app
