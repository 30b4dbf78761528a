#pragma once
// Kept sessions (CleanSession=0, sleeping nodes) in the store. The core notes which sessions may
// have changed; at each flush of the durable stage their snapshots are written, and only those whose
// bytes differ from what the store holds (a digest per client): keep-alive pings, QoS 0 readings and
// QoS 1 readings never write a session. The downlink messages a session holds are rows of their own
// (keyed by OutboundPublish::seq): a message arriving is one insert, a message delivered one delete,
// and a message that arrives and is delivered between two flushes writes nothing.
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
  void forget_digests() {
    stored_digest_.clear();
    stored_messages_.clear();
  }

  // The filters the kept sessions subscribe to, sorted, each once; changed since the last call?
  // Follows every save(): the upstream writes a QoS 1/2 message matching one to its inbox.
  bool take_kept_filters_changed() { return std::exchange(kept_filters_changed_, false); }
  std::vector<std::string> kept_filters() const;

  std::uint64_t written() const { return written_; }
  std::uint64_t unchanged() const { return unchanged_; }
  std::uint64_t messages_written() const { return messages_written_; }  // rows inserted
  std::uint64_t messages_erased() const { return messages_erased_; }

 private:
  void note_filters(const std::string& client_id, const SessionSnapshot& snap);
  void save_messages(const std::string& client_id, const SessionSnapshot& snap, store::Store& store);

  std::unordered_set<std::string> changed_;
  std::unordered_map<std::string, std::size_t> stored_digest_;  // per client id: what the store holds
  // Per client id: the seqs of its message rows in the store, sorted. A client without an entry has
  // rows the saver does not know (after a failed commit): its next save replaces them all.
  std::unordered_map<std::string, std::vector<std::uint64_t>> stored_messages_;
  std::unordered_map<std::string, std::vector<std::string>> kept_filters_;  // per kept client id
  bool kept_filters_changed_ = false;
  std::uint64_t written_ = 0;
  std::uint64_t unchanged_ = 0;
  std::uint64_t messages_written_ = 0;
  std::uint64_t messages_erased_ = 0;
};

}  // namespace mqttsn::app
