#include "gateway/app/store_keeper.hpp"

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

StoreKeeper::StoreKeeper(const conf::GatewayConfig& config) {
  status_.path = config.store.path.string();
  if (!config.store.enabled) {
    status_.state = "disabled";
    MQTTSN_LOG(warning, "store: disabled in %s; sessions and queued messages do not survive a restart",
               config.source.c_str());
    return;
  }
  store::StoreLimits limits;
  limits.max_uplink_messages = config.upstream.queue_max_messages;
  limits.max_uplink_bytes = static_cast<std::size_t>(config.upstream.queue_max_bytes);
  store::OpenReport report;
  std::string error;
  store_ = store::Store::open(config.store.path, limits, report, error);
  if (!store_) {
    status_.state = "unavailable";
    status_.problem = error;
    MQTTSN_LOG(error, "store: cannot use %s: %s; running WITHOUT persistence", status_.path.c_str(),
               error.c_str());
    return;
  }
  status_.state = "ok";
  if (report.recovered) {
    status_.problem = "damaged database moved to " + report.moved_to.string() + " (" + report.detail + ")";
    MQTTSN_LOG(error, "store: %s was unreadable (%s); moved to %s, starting with empty state",
               status_.path.c_str(), report.detail.c_str(), report.moved_to.c_str());
  }
}

void StoreKeeper::restore(Gateway& core, bridge::Bridge& bridge, Millis now) {
  if (!store_) return;
  core.set_change_tracking(true);
  std::size_t sessions = 0, unreadable = 0, refused = 0;
  for (const auto& rec : store_->load_sessions()) {
    auto snap = decode_snapshot(rec.data);
    if (!snap || snap->client_id != rec.client_id) {
      ++unreadable;
      store_->erase_session(rec.client_id);
      continue;
    }
    if (!core.restore(*snap, now)) {
      ++refused;
      store_->erase_session(rec.client_id);
      continue;
    }
    stored_digest_[rec.client_id] = digest(rec.data);
    ++sessions;
  }
  // Restoring noted every session as changed; what it would write is what the store holds.
  save_changed_sessions(core);

  std::size_t messages = 0;
  for (auto& m : store_->load_uplink()) {
    const PublishOutcome o =
        bridge.publish(m.topic, Bytes(m.payload.data(), m.payload.size()), static_cast<QoS>(m.qos), m.retain);
    if (o.token != 0) {
      rows_by_bridge_token_[o.token] = m.id;
      ++messages;
    } else {
      MQTTSN_LOG(warning,
                 "store: kept message %lld on '%s' not accepted by the bridge; kept for the next start",
                 static_cast<long long>(m.id), m.topic.c_str());
    }
  }
  store_->commit();
  MQTTSN_LOG(notice, "store: %s: %zu kept session(s) restored, %zu message(s) queued for the broker%s",
             status_.path.c_str(), sessions, messages,
             unreadable + refused ? " (some records skipped, see the counters)" : "");
  if (unreadable) MQTTSN_LOG(warning, "store: %zu session record(s) unreadable, dropped", unreadable);
  if (refused) MQTTSN_LOG(warning, "store: %zu session record(s) clash or exceed limits, dropped", refused);
}

PublishOutcome StoreKeeper::publish(bridge::Bridge& bridge, std::string_view topic, Bytes payload, QoS qos,
                                    bool retain) {
  if (!store_->uplink_has_room(topic.size() + payload.size())) {
    ++status_.congested;
    return {UpstreamAccept::congested, 0};
  }
  const PublishOutcome o = bridge.publish(topic, payload, qos, retain);
  if (o.result == UpstreamAccept::congested || o.result == UpstreamAccept::dropped || o.token == 0) return o;
  const std::int64_t row = store_->add_uplink({}, topic, payload, qos, retain);
  if (row == 0) return o;  // the store failed (logged): the bridge's own, in-memory promise holds
  rows_by_bridge_token_[o.token] = row;
  const UpstreamToken token = next_token_++;
  awaiting_commit_.push_back(token);
  return {UpstreamAccept::pending, token};
}

bool StoreKeeper::on_publish_result(UpstreamToken token, bool ok) {
  auto it = rows_by_bridge_token_.find(token);
  if (it == rows_by_bridge_token_.end()) return false;
  // Not delivered (shutdown): the row stays, and the message goes again after the next start.
  if (ok) store_->remove_uplink(it->second);
  rows_by_bridge_token_.erase(it);
  return true;
}

void StoreKeeper::save_changed_sessions(Gateway& core) {
  for (const auto& id : core.take_changed_sessions()) {
    auto snap = core.snapshot(id);
    if (!snap) {
      if (stored_digest_.erase(id) > 0) store_->erase_session(id);
      continue;
    }
    const auto bytes = encode_snapshot(*snap);
    const std::size_t d = digest(bytes);
    auto [it, fresh] = stored_digest_.try_emplace(id, d);
    if (!fresh && it->second == d) {
      ++status_.snapshots_unchanged;
      continue;
    }
    it->second = d;
    store_->put_session(id, bytes);
    ++status_.snapshots_written;
  }
}

bool StoreKeeper::end_of_turn(Gateway& core, Millis now) {
  if (!store_) return false;
  save_changed_sessions(core);
  bool ok = true;
  if (store_->pending()) {
    ok = store_->commit();
    if (!ok) {
      ++status_.commit_failures;
      // What the failed transaction held is gone; the digests may now be wrong: write all again.
      stored_digest_.clear();
    }
  }
  if (awaiting_commit_.empty()) return false;
  // A failed commit answers the node "congestion" (its message was not made durable); the bridge
  // may still deliver it, so a retry can duplicate but never lose.
  // Swapped, not moved: both vectors keep their capacity, so a busy loop does not allocate per turn.
  acking_.swap(awaiting_commit_);
  for (auto t : acking_) core.on_upstream_ack(t, ok, now);
  acking_.clear();
  return true;
}

void StoreKeeper::flush(Gateway& core) {
  if (!store_) return;
  save_changed_sessions(core);
  if (store_->pending() && !store_->commit()) ++status_.commit_failures;
}

StoreKeeperStatus StoreKeeper::status() const {
  StoreKeeperStatus s = status_;
  if (store_) s.stats = store_->stats();
  return s;
}

}  // namespace mqttsn::app
