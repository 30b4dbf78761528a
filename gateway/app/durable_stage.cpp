#include "gateway/app/durable_stage.hpp"

#include <algorithm>
#include <unordered_set>
#include <utility>

#include "gateway/core/log.hpp"

namespace mqttsn::app {

namespace {
template <class Handle>
void close_and_free(Handle*& h) {
  if (h == nullptr) return;
  uv_close(reinterpret_cast<uv_handle_t*>(std::exchange(h, nullptr)),
           [](uv_handle_t* p) { delete reinterpret_cast<Handle*>(p); });
}
}  // namespace

DurableStage::DurableStage(const conf::GatewayConfig& config, uv_loop_t* loop, bridge::UpstreamEvents& above)
    : loop_(loop),
      above_(above),
      flush_interval_(config.store.flush_interval),
      max_messages_(config.upstream.queue_max_messages),
      max_bytes_(static_cast<std::size_t>(config.upstream.queue_max_bytes)) {
  // What may wait unwritten is bounded well below the store's own bound: a burst that outruns the
  // broker is written in slices rather than held in memory for the whole interval.
  unwritten_bound_ = std::max<std::size_t>(max_bytes_ / 16, 64 * 1024);
  status_.path = config.store.path.string();
  status_.flush_interval = flush_interval_;
  if (!config.store.enabled) {
    status_.state = "disabled";
    MQTTSN_LOG(warning, "store: disabled in %s; sessions and queued messages do not survive a restart",
               config.source.c_str());
    return;
  }
  store::StoreLimits limits;
  limits.max_uplink_messages = max_messages_;
  limits.max_uplink_bytes = max_bytes_;
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
  open_upstream_records(config);

  flush_timer_ = new uv_timer_t;
  uv_timer_init(loop_, flush_timer_);
  flush_timer_->data = this;
  turn_end_ = new uv_prepare_t;
  uv_prepare_init(loop_, turn_end_);
  turn_end_->data = this;
  uv_prepare_start(turn_end_, [](uv_prepare_t* h) { static_cast<DurableStage*>(h->data)->end_of_turn(); });
}

DurableStage::~DurableStage() {
  close();
}

void DurableStage::open_upstream_records(const conf::GatewayConfig& config) {
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
  records_ = std::make_unique<DurableUpstream>(loop_, std::move(records));
}

Millis DurableStage::now() const {
  return Millis(static_cast<std::int64_t>(uv_now(loop_)));
}

DurableStage::Restored DurableStage::restore() {
  if (!store_) return {};
  // Rows whose QoS 2 exchange the broker completed before the crash go; rows whose exchange is
  // under way stay, but the MQTT client resumes them (same packet id): publishing them again would
  // be a second message to the broker.
  std::unordered_set<std::int64_t> resumed_by_paho;
  if (records_) {
    for (std::int64_t row : records_->records().delivered()) {
      store_->remove_uplink(row);
      dropping_.push_back(row);
    }
    for (const auto& r : records_->records().load())
      if (r.row != 0) resumed_by_paho.insert(r.row);
  }
  std::size_t messages = 0;
  for (auto& m : store_->load_uplink()) {
    if (resumed_by_paho.count(m.id) > 0) continue;
    send_row(std::move(m));
    ++messages;
  }
  if (store_->commit() && records_) records_->records().forget_delivered(dropping_);
  dropping_.clear();
  return {messages, resumed_by_paho.size()};
}

DownlinkReceipt DurableStage::on_message(std::string_view topic, Bytes payload, QoS qos, bool retain,
                                         bridge::InboxId inbox) {
  // The connection may hand up a message that take_inbox_left() already did (it arrived while the
  // inbox was being read at start): inbox ids only grow, so the id tells.
  if (inbox != 0 && inbox <= inbox_replayed_through_) return {};
  DownlinkReceipt receipt = above_.on_message(topic, payload, qos, retain, inbox);
  note_inbox_taken(inbox, qos);
  return receipt;
}

void DurableStage::on_inbox_written(bridge::InboxId inbox) {
  note_inbox_taken(inbox, 1);
}

void DurableStage::note_inbox_taken(bridge::InboxId inbox, QoS qos) {
  // The sessions the message reached are stored by the flush that notes it. Until then the row
  // stays, and a crash hands the message up again: harmless for QoS 1 (at least once), so the note
  // waits for the next periodic flush; a QoS 2 message would reach its node twice, so it is noted
  // at the end of this turn.
  if (inbox <= 0 || !store_ || !records_) return;
  inbox_newest_ = std::max(inbox_newest_, inbox);
  inbox_unnoted_ = true;
  ++inbox_taken_count_;
  if (qos == 2)
    inbox_noted_now_ = true;
  else
    flush_soon();
}

std::size_t DurableStage::take_inbox_left() {
  if (!store_ || !records_) return 0;
  const std::int64_t taken = store_->inbox_taken();
  inbox_newest_ = std::max(inbox_newest_, taken);
  records_->records().drop_inbox_through(taken);
  auto left = records_->records().inbox_after(taken);
  for (auto& m : left)
    on_message(m.topic, Bytes(m.payload.data(), m.payload.size()), static_cast<QoS>(m.qos), m.retain, m.id);
  if (!left.empty()) inbox_replayed_through_ = left.back().id;
  return left.size();
}

void DurableStage::hand_down(PublishId id, const Held& h, bool kept_here) {
  bridge::PublishRequest r;
  r.id = id;
  r.client_id = h.client_id;
  r.topic = h.topic;
  r.payload = Bytes(h.payload.data(), h.payload.size());
  r.qos = h.qos;
  r.retain = h.retain;
  r.tag = h.row;
  r.kept_above = kept_here;
  below_->publish(r);
}

void DurableStage::answer(PublishId above, PublishResult result) {
  if (above == 0 || closed_) return;
  answers_.emplace_back(above, result);
}

void DurableStage::publish(const bridge::PublishRequest& request) {
  // Only what a node is acknowledged for must be durable before its acknowledgement.
  if (!store_ || request.qos < 1 || request.id == 0) return below_->publish(request);
  const std::size_t bytes = request.topic.size() + request.payload.size();
  // Rows count against the store's bounds, what waits in memory against the same bounds here.
  if (held_.size() >= max_messages_ || held_bytes_ + bytes > max_bytes_ || !store_->uplink_has_room(bytes)) {
    ++status_.congested;
    return answer(request.id, PublishResult::congested);
  }
  const PublishId id = next_id_++;
  Held h;
  h.above = request.id;
  h.since = now();
  h.qos = request.qos;
  h.retain = request.retain;
  h.client_id.assign(request.client_id);
  h.topic.assign(request.topic);
  h.payload.assign(request.payload.begin(), request.payload.end());
  held_bytes_ += bytes;

  if (request.qos == 2) {
    write_row(id, h);
    if (h.row == 0) {
      // The store failed (logged): the message goes on the connection's own promise.
      h.on_connection_promise = true;
      hand_down(id, h, false);
      held_.emplace(id, std::move(h));
      return;
    }
    qos2_uncommitted_.push_back(id);
    held_.emplace(id, std::move(h));
    return;
  }

  hand_down(id, h);
  unwritten_bytes_ += bytes;
  unwritten_.push_back(id);
  held_.emplace(id, std::move(h));
  if (unwritten_bytes_ > unwritten_bound_) flush_now_ = true;
  arm_flush_timer();
}

void DurableStage::write_row(PublishId id, Held& h) {
  h.row = store_->add_uplink(h.client_id, h.topic, h.payload, h.qos, h.retain);
  if (h.row == 0) return;
  by_row_[h.row] = id;
  ++status_.written;
}

void DurableStage::forget(std::unordered_map<PublishId, Held>::iterator it) {
  Held& h = it->second;
  held_bytes_ -= std::min(held_bytes_, h.bytes());
  if (h.row != 0) by_row_.erase(h.row);
  held_.erase(it);
}

void DurableStage::on_publish_result(PublishId id, PublishResult result) {
  auto it = held_.find(id);
  if (it == held_.end()) {
    // Without a store every request passes through unchanged; with one, an unknown id is a result
    // for a message already settled.
    if (!store_) above_.on_publish_result(id, result);
    return;
  }
  Held& h = it->second;
  switch (result) {
    case PublishResult::delivered:
      if (h.row == 0 && !h.on_connection_promise) {
        ++status_.acked_unwritten;
        unwritten_bytes_ -= std::min(unwritten_bytes_, h.bytes());
      } else if (h.row != 0) {
        store_->remove_uplink(h.row);  // joins the open transaction: deleted with the next flush
        flush_soon();
      }
      if (!h.answered) answer(h.above, PublishResult::delivered);
      return forget(it);
    case PublishResult::kept:
      // Only a message the store could not take relies on the connection's memory queue.
      if (h.on_connection_promise && !h.answered) {
        answer(h.above, PublishResult::kept);
        h.answered = true;
      }
      return;
    case PublishResult::congested:
      if (shutting_down_ || closed_) {
        // Given up because the gateway stops: the row (written by close() if need be) keeps it.
        return;
      }
      // The connection can never send it (refused by the MQTT client): keeping the row would resend
      // it at every start.
      MQTTSN_LOG(warning, "store: upstream gave up on a message to '%s'; dropped", h.topic.c_str());
      if (h.row != 0) store_->remove_uplink(h.row);
      if (!h.answered) answer(h.above, PublishResult::congested);
      if (h.row == 0 && !h.on_connection_promise) unwritten_bytes_ -= std::min(unwritten_bytes_, h.bytes());
      return forget(it);
  }
}

void DurableStage::on_state(bridge::UpstreamState state) {
  // The broker is gone: what waits for it is written now rather than at the end of its interval.
  if (store_ && state != bridge::UpstreamState::connected && !unwritten_.empty()) flush_now_ = true;
  above_.on_state(state);
}

void DurableStage::flush_soon() {
  arm_flush_timer();
  if (flush_timer_ != nullptr && !uv_is_active(reinterpret_cast<uv_handle_t*>(flush_timer_)))
    uv_timer_start(
        flush_timer_, [](uv_timer_t* t) { static_cast<DurableStage*>(t->data)->flush(false); },
        static_cast<std::uint64_t>(flush_interval_.count()), 0);
}

void DurableStage::commit_now() {
  if (!store_ || closed_) return;
  flush(false);
  end_of_turn();
}

void DurableStage::arm_flush_timer() {
  if (flush_timer_ == nullptr || uv_is_active(reinterpret_cast<uv_handle_t*>(flush_timer_))) return;
  // Skip what the broker took meanwhile: the timer is for the oldest message still waiting.
  while (!unwritten_.empty()) {
    auto it = held_.find(unwritten_.front());
    if (it != held_.end() && it->second.row == 0) break;
    unwritten_.pop_front();
  }
  if (unwritten_.empty()) return;
  Millis due;
  if (below_->connected()) {
    const Millis age = now() - held_.at(unwritten_.front()).since;
    due = std::max(Millis{0}, flush_interval_ - age);
  } else {
    due = std::max(Millis{0}, last_commit_ + away_gap() - now());
  }
  uv_timer_start(
      flush_timer_, [](uv_timer_t* t) { static_cast<DurableStage*>(t->data)->flush(false); },
      static_cast<std::uint64_t>(due.count()), 0);
}

void DurableStage::take_paho_reports() {
  if (!records_) return;
  records_->take(delivered_, abandoned_);
  for (std::int64_t row : delivered_) {
    store_->remove_uplink(row);  // a no-op when the bridge's own result removed it already
    dropping_.push_back(row);
  }
  status_.delivered_by_paho += delivered_.size();
  if (!abandoned_.empty()) resend_abandoned(abandoned_);
}

void DurableStage::resend_abandoned(const std::vector<std::int64_t>& rows) {
  status_.abandoned_by_paho += rows.size();
  std::unordered_set<std::int64_t> wanted;
  // The connection's own messages among them come back through its failure path and queue.
  for (std::int64_t row : rows)
    if (by_row_.count(row) == 0) wanted.insert(row);
  if (wanted.empty()) return;
  for (auto& m : store_->load_uplink()) {  // rare (a broker that lost our session): a full read is fine
    if (wanted.count(m.id) == 0) continue;
    send_row(std::move(m));
  }
}

void DurableStage::send_row(store::UplinkRecord&& m) {
  const PublishId id = next_id_++;
  Held h;
  h.row = m.id;
  h.answered = true;  // its node was acknowledged when the row was committed
  h.qos = static_cast<QoS>(m.qos);
  h.retain = m.retain;
  h.client_id = std::move(m.client_id);
  h.topic = std::move(m.topic);
  h.payload = std::move(m.payload);
  hand_down(id, h);
  // The row holds the message; the connection has its own copy to send.
  std::string().swap(h.topic);
  std::vector<std::uint8_t>().swap(h.payload);
  by_row_[h.row] = id;
  held_.emplace(id, std::move(h));
}

void DurableStage::end_of_turn() {
  take_paho_reports();
  // With the broker away, what waits is written at once, but not more often than every away_gap():
  // commits that close together would each write the same pages again.
  if (!flush_now_ && !unwritten_.empty() && !below_->connected() && now() - last_commit_ >= away_gap())
    flush_now_ = true;
  if (!qos2_uncommitted_.empty() || flush_now_ || inbox_noted_now_) flush(flush_now_);
  if (!dropping_.empty() && !store_->pending()) {
    if (records_) records_->records().forget_delivered(dropping_);
    dropping_.clear();
  }
  if (answers_.empty()) return;
  // Swapped, not moved: both vectors keep their capacity, so a busy loop does not allocate per turn.
  answering_.swap(answers_);
  for (const auto& [id, result] : answering_) above_.on_publish_result(id, result);
  answering_.clear();
}

void DurableStage::flush(bool force) {
  if (!store_) return;
  flush_now_ = false;
  take_paho_reports();
  force = force || !below_->connected() || shutting_down_ || closed_;
  const Millis cutoff = now() - flush_interval_;
  while (!unwritten_.empty()) {
    auto it = held_.find(unwritten_.front());
    if (it == held_.end() || it->second.row != 0) {
      unwritten_.pop_front();
      continue;
    }
    Held& h = it->second;
    if (!force && h.since > cutoff) break;
    write_row(it->first, h);
    if (h.row == 0) break;  // the store failed (logged): try again at the next flush
    written_.push_back(it->first);
    unwritten_.pop_front();
  }
  if (before_commit_) before_commit_(*store_);
  const bool noting_inbox = inbox_unnoted_;  // set only with records_
  if (noting_inbox) store_->note_inbox_taken(inbox_newest_);
  inbox_unnoted_ = false;
  inbox_noted_now_ = false;
  bool ok = true;
  if (store_->pending()) {
    ok = store_->commit();
    last_commit_ = now();
    ++status_.flushes;
    if (force) ++status_.forced_flushes;
    if (!ok) {
      ++status_.commit_failures;
      if (commit_failed_) commit_failed_();
    }
  }
  if (noting_inbox) {
    if (ok)
      records_->records().drop_inbox_through(inbox_newest_);
    else {
      inbox_unnoted_ = true;  // the sessions were not stored either: both go again at the next flush
      flush_soon();
    }
  }
  if (ok && records_ && !dropping_.empty()) {
    // Only once the rows are gone from the store may the upstream file forget them; a failed
    // commit keeps them noted there, and the next start drops the rows.
    records_->records().forget_delivered(dropping_);
    dropping_.clear();
  }
  for (PublishId id : written_) {
    auto it = held_.find(id);
    if (it == held_.end()) continue;
    Held& h = it->second;
    if (!ok) {
      // Rolled back: still only in memory. Written again at the next flush.
      by_row_.erase(h.row);
      h.row = 0;
      unwritten_.push_front(id);
      continue;
    }
    unwritten_bytes_ -= std::min(unwritten_bytes_, h.bytes());
    settle_committed(h);
  }
  written_.clear();
  for (PublishId id : qos2_uncommitted_) {
    auto it = held_.find(id);
    if (it == held_.end()) continue;
    Held& h = it->second;
    if (!ok) {
      // Not made durable, not handed over: the node's retry is the only copy that will reach the broker.
      answer(h.above, PublishResult::congested);
      forget(it);
      continue;
    }
    hand_down(id, h);
    settle_committed(h);
  }
  qos2_uncommitted_.clear();
  if (!closed_) arm_flush_timer();
}

void DurableStage::settle_committed(Held& h) {
  answer(h.above, PublishResult::kept);
  h.answered = true;
  // The connection has its own copy to send; the row has the one that survives.
  held_bytes_ -= std::min(held_bytes_, h.bytes());
  std::string().swap(h.topic);
  std::vector<std::uint8_t>().swap(h.payload);
}

void DurableStage::shutdown(Millis grace, std::function<void()> done) {
  shutting_down_ = true;
  below_->shutdown(grace, [this, done = std::move(done)] {
    // What the broker did not take in the grace is written for the next start.
    flush(true);
    end_of_turn();
    done();
  });
}

void DurableStage::close() {
  if (closed_) return;
  if (store_) {
    flush(true);
    end_of_turn();
  }
  closed_ = true;
  answers_.clear();
  close_and_free(flush_timer_);
  close_and_free(turn_end_);
  if (records_) records_->close();
}

DurableStageStatus DurableStage::stage_status() const {
  DurableStageStatus s = status_;
  if (store_) s.stats = store_->stats();
  s.held = held_.size();
  s.held_unwritten = 0;
  for (const auto& [id, h] : held_)
    if (h.row == 0) ++s.held_unwritten;
  if (records_) {
    s.upstream_records = records_->records().size();
    s.upstream_records_bytes = records_->records().file_bytes();
    s.inbox = records_->records().inbox_size();
    s.inbox_taken = inbox_taken_count_;
  }
  return s;
}

}  // namespace mqttsn::app
