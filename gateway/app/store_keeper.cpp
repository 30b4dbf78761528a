#include "gateway/app/store_keeper.hpp"

#include <algorithm>
#include <functional>
#include <string_view>
#include <unordered_set>

#include "gateway/core/log.hpp"
#include "gateway/core/session_snapshot.hpp"

namespace mqttsn::app {

namespace {
std::size_t digest(const std::vector<std::uint8_t>& bytes) {
  return std::hash<std::string_view>{}(
      std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}
}  // namespace

StoreKeeper::StoreKeeper(const conf::GatewayConfig& config, uv_loop_t* loop) {
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
  open_upstream_records(config, loop);
}

void StoreKeeper::open_upstream_records(const conf::GatewayConfig& config, uv_loop_t* loop) {
  const auto path = store::upstream_records_path(config.store.path);
  status_.upstream_records_path = path.string();
  if (config.upstream.clean_session) return;  // the broker forgets packet ids: nothing to resume
  if (!config.store.qos2_exactly_once) {
    MQTTSN_LOG(notice,
               "store: qos2_exactly_once = false: a QoS 2 message in flight upstream at a crash "
               "may reach the broker twice");
    return;
  }
  store::OpenReport report;
  std::string error;
  auto records = store::UpstreamRecords::open(path, report, error);
  if (!records) {
    status_.upstream_records_state = "unavailable";
    MQTTSN_LOG(error,
               "store: cannot use %s: %s; a QoS 2 message in flight upstream at a crash may reach the "
               "broker twice",
               path.c_str(), error.c_str());
    return;
  }
  if (report.recovered) {
    // Its rows are in the store: they are all published again (at least once, not exactly once).
    MQTTSN_LOG(error, "store: %s was unreadable (%s); moved to %s: QoS 2 messages in flight are sent again",
               path.c_str(), report.detail.c_str(), report.moved_to.c_str());
  }
  status_.upstream_records_state = "ok";
  upstream_ = std::make_unique<DurableUpstream>(loop, std::move(records));
}

void StoreKeeper::close() {
  if (upstream_) upstream_->close();
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

  // Rows whose QoS 2 exchange the broker completed before the crash go; rows whose exchange is
  // under way stay, but Paho resumes them (same packet id): publishing them again would be a second
  // message to the broker.
  std::unordered_set<std::int64_t> resumed_by_paho;
  if (upstream_) {
    drop_delivered(upstream_->records().delivered());
    for (const auto& r : upstream_->records().load())
      if (r.row != 0) resumed_by_paho.insert(r.row);
  }
  std::size_t messages = 0;
  for (auto& m : store_->load_uplink()) {
    if (resumed_by_paho.count(m.id) > 0) continue;
    if (hand_over(bridge, m.id, m.topic, Bytes(m.payload.data(), m.payload.size()), static_cast<QoS>(m.qos),
                  m.retain))
      ++messages;
  }
  if (store_->commit() && upstream_) upstream_->records().forget_delivered(dropping_);
  dropping_.clear();
  MQTTSN_LOG(notice,
             "store: %s: %zu kept session(s) restored, %zu message(s) queued for the broker, %zu QoS 2 "
             "exchange(s) resumed by the MQTT client%s",
             status_.path.c_str(), sessions, messages, resumed_by_paho.size(),
             unreadable + refused ? " (some records skipped, see the counters)" : "");
  if (unreadable) MQTTSN_LOG(warning, "store: %zu session record(s) unreadable, dropped", unreadable);
  if (refused) MQTTSN_LOG(warning, "store: %zu session record(s) clash or exceed limits, dropped", refused);
}

bool StoreKeeper::hand_over(bridge::Bridge& bridge, std::int64_t row, std::string_view topic, Bytes payload,
                            QoS qos, bool retain) {
  const PublishOutcome o = bridge.publish(topic, payload, qos, retain, row);
  if (o.token == 0) {
    // The bridge is shutting down: the row stays for the next start.
    MQTTSN_LOG(info, "store: message %lld on '%.*s' not taken by the bridge now; kept for the next start",
               static_cast<long long>(row), static_cast<int>(topic.size()), topic.data());
    return false;
  }
  rows_by_bridge_token_[o.token] = row;
  return true;
}

PublishOutcome StoreKeeper::publish(bridge::Bridge& bridge, std::string_view topic, Bytes payload, QoS qos,
                                    bool retain) {
  if (!store_->uplink_has_room(topic.size() + payload.size())) {
    ++status_.congested;
    return {UpstreamAccept::congested, 0};
  }
  const std::int64_t row = store_->add_uplink({}, topic, payload, qos, retain);
  if (row == 0) return bridge.publish(topic, payload, qos, retain);  // the store failed (logged)
  const UpstreamToken token = next_token_++;
  awaiting_commit_.push_back(Awaiting{token, row, std::string(topic),
                                      std::vector<std::uint8_t>(payload.begin(), payload.end()), qos,
                                      retain});
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

void StoreKeeper::drop_delivered(const std::vector<std::int64_t>& rows) {
  for (std::int64_t row : rows) {
    store_->remove_uplink(row);  // a no-op when on_publish_result() removed it already
    dropping_.push_back(row);
  }
  status_.delivered_by_paho += rows.size();
}

void StoreKeeper::resend_abandoned(bridge::Bridge& bridge, const std::vector<std::int64_t>& rows) {
  status_.abandoned_by_paho += rows.size();
  std::unordered_set<std::int64_t> wanted(rows.begin(), rows.end());
  // The bridge's own messages among them come back through its failure callback and queue.
  for (const auto& [token, row] : rows_by_bridge_token_) wanted.erase(row);
  if (wanted.empty()) return;
  for (auto& m : store_->load_uplink()) {  // rare (a broker that lost our session): a full read is fine
    if (wanted.count(m.id) == 0) continue;
    hand_over(bridge, m.id, m.topic, Bytes(m.payload.data(), m.payload.size()), static_cast<QoS>(m.qos),
              m.retain);
  }
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

bool StoreKeeper::end_of_turn(Gateway& core, bridge::Bridge& bridge, Millis now) {
  if (!store_) return false;
  if (upstream_) {
    upstream_->take(delivered_, abandoned_);
    if (!delivered_.empty()) drop_delivered(delivered_);
    if (!abandoned_.empty()) resend_abandoned(bridge, abandoned_);
  }
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
  if (!dropping_.empty()) {
    // Only once the rows are gone from the store may the upstream file forget them; a failed
    // commit keeps them noted there, and the next start drops the rows.
    if (ok && upstream_) upstream_->records().forget_delivered(dropping_);
    dropping_.clear();
  }
  if (awaiting_commit_.empty()) return false;
  // Swapped, not moved: both vectors keep their capacity, so a busy loop does not allocate per turn.
  acking_.swap(awaiting_commit_);
  for (auto& a : acking_) {
    // A failed commit answers the node "congestion": its message was not made durable, and it was
    // not handed over either, so the node's retry is the only copy that will ever reach the broker.
    if (ok) hand_over(bridge, a.row, a.topic, Bytes(a.payload.data(), a.payload.size()), a.qos, a.retain);
    core.on_upstream_ack(a.core_token, ok, now);
  }
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
  if (upstream_) {
    s.upstream_records = upstream_->records().size();
    s.upstream_records_bytes = upstream_->records().file_bytes();
  }
  return s;
}

}  // namespace mqttsn::app
