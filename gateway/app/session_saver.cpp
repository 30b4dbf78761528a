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
  std::size_t sessions = 0, unreadable = 0, refused = 0;
  for (const auto& rec : store.load_sessions()) {
    auto snap = decode_snapshot(rec.data);
    if (!snap || snap->client_id != rec.client_id) {
      ++unreadable;
      store.erase_session(rec.client_id);
      continue;
    }
    if (!core.restore(*snap, now)) {
      ++refused;
      store.erase_session(rec.client_id);
      continue;
    }
    stored_digest_[rec.client_id] = digest(rec.data);
    ++sessions;
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
      if (stored_digest_.erase(id) > 0) store.erase_session(id);
      continue;
    }
    note_filters(id, *snap);
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

}  // namespace mqttsn::app
