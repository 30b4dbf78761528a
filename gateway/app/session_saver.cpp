#include "gateway/app/session_saver.hpp"

#include <algorithm>
#include <functional>
#include <string_view>

#include "gateway/core/log.hpp"
#include "gateway/core/session_snapshot.hpp"

namespace mqttsn::app {

namespace {
std::size_t digest(const std::vector<std::uint8_t>& bytes) {
  return std::hash<std::string_view>{}(
      std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}
}  // namespace

std::size_t SessionSaver::restore(Gateway& core, store::Store& store, Millis now) {
  core.set_change_tracking(true);
  std::size_t sessions = 0, unreadable = 0, refused = 0, orphans = 0;
  // Both lists are in client id order (and the messages in seq order within one client).
  auto messages = store.load_session_messages();
  auto next_message = messages.begin();
  for (const auto& rec : store.load_sessions()) {
    auto snap = decode_snapshot(rec.data);
    if (!snap || snap->client_id != rec.client_id) {
      ++unreadable;
      store.erase_session(rec.client_id);
      continue;
    }
    for (; next_message != messages.end() && next_message->client_id < rec.client_id; ++next_message)
      ++orphans;
    std::vector<std::uint64_t>& seqs = stored_messages_[rec.client_id];
    for (; next_message != messages.end() && next_message->client_id == rec.client_id; ++next_message) {
      auto& m = *next_message;
      snap->downlink.push_back(
          {m.seq, std::move(m.topic), std::move(m.payload), static_cast<QoS>(m.qos), m.retain});
      seqs.push_back(m.seq);
    }
    if (!core.restore(*snap, now)) {
      ++refused;
      stored_messages_.erase(rec.client_id);
      store.erase_session(rec.client_id);
      continue;
    }
    stored_digest_[rec.client_id] = digest(rec.data);
    ++sessions;
  }
  orphans += static_cast<std::size_t>(messages.end() - next_message);
  if (orphans > 0) {
    // Rows whose session record is gone (it never was written, or was unreadable): no node to give them to.
    for (const auto& m : messages)
      if (!stored_messages_.contains(m.client_id)) store.erase_session_message(m.client_id, m.seq);
    MQTTSN_LOG(warning, "store: %zu buffered message(s) without their session record, dropped", orphans);
  }
  // Restoring noted every session as changed; what it would write is what the store holds.
  collect(core);
  save(core, store);
  if (unreadable) MQTTSN_LOG(warning, "store: %zu session record(s) unreadable, dropped", unreadable);
  if (refused) MQTTSN_LOG(warning, "store: %zu session record(s) clash or exceed limits, dropped", refused);
  return sessions;
}

void SessionSaver::note_filters(const std::string& client_id, const SessionSnapshot& snap) {
  std::vector<std::string> filters;
  filters.reserve(snap.subscriptions.size());
  for (const auto& sub : snap.subscriptions) filters.push_back(sub.filter);
  auto [it, fresh] = kept_filters_.try_emplace(client_id);
  if (!fresh && it->second == filters) return;
  it->second = std::move(filters);
  kept_filters_changed_ = true;
}

std::vector<std::string> SessionSaver::kept_filters() const {
  std::vector<std::string> out;
  for (const auto& [id, filters] : kept_filters_) out.insert(out.end(), filters.begin(), filters.end());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool SessionSaver::collect(Gateway& core) {
  for (auto& id : core.take_changed_sessions()) changed_.insert(std::move(id));
  return !changed_.empty();
}

void SessionSaver::save(const Gateway& core, store::Store& store) {
  for (const auto& id : changed_) {
    auto snap = core.snapshot(id);
    if (!snap) {
      if (kept_filters_.erase(id) > 0) kept_filters_changed_ = true;
      const bool had_record = stored_digest_.erase(id) > 0;
      const bool had_messages = stored_messages_.erase(id) > 0;
      if (had_record || had_messages) store.erase_session(id);
      continue;
    }
    note_filters(id, *snap);
    save_messages(id, *snap, store);
    const auto bytes = encode_snapshot(*snap);
    const std::size_t d = digest(bytes);
    auto [it, fresh] = stored_digest_.try_emplace(id, d);
    if (!fresh && it->second == d) {
      ++unchanged_;
      continue;
    }
    it->second = d;
    store.put_session(id, bytes);
    ++written_;
  }
  changed_.clear();
}

void SessionSaver::save_messages(const std::string& client_id, const SessionSnapshot& snap,
                                 store::Store& store) {
  std::vector<std::uint64_t> now;
  now.reserve(snap.downlink.size());
  for (const auto& m : snap.downlink) now.push_back(m.seq);
  std::sort(now.begin(), now.end());
  auto stored = stored_messages_.find(client_id);
  if (stored == stored_messages_.end()) {
    // Unknown rows (a new session, or the store's state unknown after a failed commit): replace them.
    store.erase_session_messages(client_id);
    stored = stored_messages_.emplace(client_id, std::vector<std::uint64_t>{}).first;
  }
  const std::vector<std::uint64_t>& before = stored->second;
  if (now == before) return;
  for (const auto& m : snap.downlink) {
    if (std::binary_search(before.begin(), before.end(), m.seq)) continue;
    store.put_session_message({client_id, m.seq, m.topic, m.payload, m.qos, m.retain});
    ++messages_written_;
  }
  for (std::uint64_t seq : before) {
    if (std::binary_search(now.begin(), now.end(), seq)) continue;
    store.erase_session_message(client_id, seq);
    ++messages_erased_;
  }
  stored->second = std::move(now);
}

}  // namespace mqttsn::app
