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

#include "gateway/core/gateway.hpp"
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

  std::uint64_t written() const { return written_; }
  std::uint64_t unchanged() const { return unchanged_; }

 private:
  std::unordered_set<std::string> changed_;
  std::unordered_map<std::string, std::size_t> stored_digest_;  // per client id: what the store holds
  std::uint64_t written_ = 0;
  std::uint64_t unchanged_ = 0;
};

}  // namespace mqttsn::app
