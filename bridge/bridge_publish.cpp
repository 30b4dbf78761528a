// Uplink: QoS translation, the send window, the offline queue and the "nothing acknowledged is
// lost" bookkeeping.
#include <MQTTAsync.h>
#include <malloc.h>

#include <algorithm>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "bridge/bridge.hpp"
#include "bridge/paho_callbacks.hpp"
#include "bridge/paho_library.hpp"
#include "bridge/paho_mailbox.hpp"
#include "gateway/core/log.hpp"

namespace mqttsn::bridge {

namespace {
// A queue that held this many messages took enough memory to be worth a malloc_trim() (a few ms on
// a Raspberry Pi for a heap of tens of MB) once it has drained.
constexpr std::size_t kTrimAfterQueued = 1000;
}  // namespace

bool Bridge::enqueue(OutboundMessage&& m) {
  // push_back() leaves `m` as it was when it refuses it.
  const bool queued = m.kept_above ? (queue_.requeue(std::move(m)), true)  // newest seq: at the back
                                   : queue_.push_back(std::move(m));
  queue_peak_ = std::max(queue_peak_, queue_.size());
  return queued;
}

void Bridge::answer_soon(PublishId id, PublishResult result) {
  if (id == 0) return;
  answers_.emplace_back(id, result);
  if (answer_timer_ != nullptr && !uv_is_active(reinterpret_cast<uv_handle_t*>(answer_timer_)))
    uv_timer_start(
        answer_timer_, [](uv_timer_t* t) { static_cast<Bridge*>(t->data)->answer_now(); }, 0, 0);
}

void Bridge::answer_now() {
  if (answers_.empty()) return;
  auto answers = std::exchange(answers_, {});
  for (const auto& [id, result] : answers) events_.on_publish_result(id, result);
}

void Bridge::publish(const PublishRequest& r) {
  OutboundMessage m;
  m.seq = next_seq_++;
  m.tag = r.tag;
  m.topic = mount_.upstream(r.topic);
  m.payload.assign(r.payload.begin(), r.payload.end());
  m.qos = options_.qos.publish(r.qos);
  m.retain = r.retain;
  m.kept_above = r.kept_above;
  // The broker answers QoS 1/2 only. A request that wants a result but goes up at QoS 0 (a ceiling
  // of 0) is answered when Paho takes it or it is dropped.
  m.id = m.qos > 0 ? r.id : 0;
  const PublishId qos0_id = m.qos == 0 ? r.id : 0;

  const bool closing = phase_ == Phase::draining || phase_ == Phase::closing || phase_ == Phase::closed;
  if (closing) {
    if (m.qos == 0) {
      ++counters_.dropped_offline;
      return answer_soon(qos0_id, PublishResult::congested);
    }
    ++counters_.congested;
    return answer_soon(m.id, PublishResult::congested);
  }

  if (connected_) {
    if (m.qos == 0) {
      // Fire and forget, but never ahead of older messages still waiting in the queue.
      if (queue_.empty() && window_allows(m) && send(m) == SendResult::sent)
        return answer_soon(qos0_id, PublishResult::delivered);
      enqueue_qos0(std::move(m), qos0_id);
      return pump_soon();
    }
    if (queue_.empty() && window_allows(m)) {
      switch (send(m)) {
        case SendResult::sent:
          return;
        case SendResult::retry_later:
          queue_.push_front(std::move(m));
          return pump_soon();
        case SendResult::failed:
          ++counters_.failed;
          return answer_soon(m.id, PublishResult::congested);
      }
    }
    // Behind the queue (it is draining, or the window is full): the node waits for the broker.
    const PublishId id = m.id;
    if (!enqueue(std::move(m))) {
      ++counters_.congested;
      answer_soon(id, PublishResult::congested);
    }
    return;
  }

  // Disconnected (or not started yet).
  if (m.qos == 0 && !options_.queue_qos0_offline) {
    ++counters_.dropped_offline;
    return answer_soon(qos0_id, PublishResult::congested);
  }
  // Without a stage above that keeps it, the queue is the promise: the node is acknowledged now.
  const bool answer_kept = !m.kept_above && m.id != 0;
  m.answered = answer_kept;
  const PublishId id = m.id;
  const bool qos0 = m.qos == 0;
  if (!enqueue(std::move(m))) {
    if (qos0) {
      ++counters_.dropped_offline;
      return answer_soon(qos0_id, PublishResult::congested);
    }
    ++counters_.congested;
    return answer_soon(id, PublishResult::congested);
  }
  ++counters_.queued_offline;
  if (answer_kept) answer_soon(id, PublishResult::kept);
  if (qos0) answer_soon(qos0_id, PublishResult::kept);
}

void Bridge::note_if_qos2_acked(int token, const OutboundMessage& m) {
  // Paho reports a QoS 2 publish as done at PUBCOMP, having ended the exchange; and also at a PUBACK,
  // which it otherwise ignores, leaving the exchange open (and its message resent at every reconnect)
  // for ever. Only in that case is the token still pending.
  if (client_ == nullptr) return;
  bool complete = true;
  {
    const ReceiveHold::Call call(hold_, false);
    complete = paho::api().isComplete(client_, token) == MQTTASYNC_TRUE;
  }
  if (complete) return;
  ++counters_.qos2_not_completed;
  if (persistence_) persistence_->settle_qos2(token, true);
  paho_holds_acked_qos2_ = true;  // a new client before the next connection (recreate_client)
  note_broker_lacks_qos2("answered a QoS 2 PUBLISH with a PUBACK", m.topic);
}

void Bridge::note_broker_lacks_qos2(const char* how, const std::string& topic) {
  if (broker_lacks_qos2_) return;
  broker_lacks_qos2_ = true;
  MQTTSN_LOG(warning,
             "upstream: the broker %s (to '%s'): it does not do QoS 2 (RabbitMQ, AWS IoT Core and Azure "
             "IoT Hub stop at QoS 1). Such messages are delivered at QoS 1, and every later one goes up "
             "at QoS 1; set [upstream] max_qos = 1",
             how, topic.c_str());
}

void Bridge::give_up_silent_qos2() {
  if (!connected_ || inflight_qos2_ == 0) return;
  const std::uint64_t now = uv_now(loop_);
  const auto timeout = static_cast<std::uint64_t>(options_.qos2_answer_timeout.count());
  std::vector<int> late;
  for (const auto& [token, m] : inflight_)
    if (m.qos == 2 && !m.internal && now - m.sent_at >= timeout) late.push_back(token);
  if (late.empty()) return;
  std::string topic;
  for (const int token : late) {
    auto it = inflight_.find(token);
    OutboundMessage m = std::move(it->second);
    inflight_.erase(it);
    --inflight_qos2_;
    ++counters_.qos2_not_completed;
    // Not delivered: its record goes (Paho's exchange stays open, and is dropped with the client).
    if (persistence_) persistence_->settle_qos2(token, false);
    topic = m.topic;
    m.qos = 1;
    ++counters_.requeued;
    queue_.requeue(std::move(m));
  }
  paho_holds_acked_qos2_ = true;
  const std::string how = "left " + std::to_string(late.size()) + " QoS 2 exchange(s) unanswered for " +
                          std::to_string(timeout / 1000) + " s";
  note_broker_lacks_qos2(how.c_str(), topic);
  pump();
}

Bridge::SendResult Bridge::send(OutboundMessage& m, bool may_defer) {
  // A broker seen not to complete QoS 2 gets QoS 1 (note_broker_lacks_qos2).
  if (m.qos == 2 && broker_lacks_qos2_) m.qos = 1;
  MQTTAsync_message msg = MQTTAsync_message_initializer;
  msg.payload = m.payload.empty() ? nullptr : m.payload.data();
  msg.payloadlen = static_cast<int>(m.payload.size());
  msg.qos = m.qos;
  msg.retained = m.retain ? 1 : 0;
  MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
  // QoS 0 too: Paho calls back once it wrote the message, which is how the QoS 0 window moves.
  ro.onSuccess = m.qos > 0 ? detail::paho_publish_ok : detail::paho_qos0_written;
  ro.onFailure = m.qos > 0 ? detail::paho_publish_failed : detail::paho_qos0_failed;
  ro.context = mailbox_.get();
  // Paho copies topic and payload; ro.token is the message id it assigned. Paho stores the command
  // during this call, on this thread: that is where PahoPersistence learns the message's tag.
  const PahoPersistence::Handing handing(m.tag);
  const ReceiveHold::Call call(hold_, may_defer);
  if (!call) return SendResult::retry_later;  // pumped again when the hold ends
  int rc = paho::api().sendMessage(client_, m.topic.c_str(), &msg, &ro);
  switch (rc) {
    case MQTTASYNC_SUCCESS:
      break;
    case MQTTASYNC_DISCONNECTED:
    case MQTTASYNC_MAX_MESSAGES_INFLIGHT:
    case MQTTASYNC_NO_MORE_MSGIDS:
    case MQTTASYNC_MAX_BUFFERED_MESSAGES:
    case MQTTASYNC_MAX_BUFFERED:
    case MQTTASYNC_OPERATION_INCOMPLETE:
      return SendResult::retry_later;
    default:
      MQTTSN_LOG(warning, "upstream: publish to '%s' refused by the MQTT client (Paho error %d): not sent",
                 m.topic.c_str(), rc);
      return SendResult::failed;
  }
  if (m.qos == 0) {
    ++counters_.published_qos0;
    ++qos0_in_client_;
    return SendResult::sent;
  }
  (m.qos == 1 ? counters_.published_qos1 : counters_.published_qos2)++;
  if (m.qos == 2) ++inflight_qos2_;
  m.connection = counters_.connects;
  m.sent_at = uv_now(loop_);
  inflight_.insert_or_assign(ro.token, std::move(m));
  return SendResult::sent;
}

void Bridge::pump() {
  while (connected_ && !queue_.empty() && window_allows(queue_.front())) {
    OutboundMessage m = queue_.pop_front();
    switch (send(m)) {
      case SendResult::sent:
        break;
      case SendResult::retry_later:
        queue_.push_front(std::move(m));
        return;
      case SendResult::failed:
        ++counters_.failed;
        if (reports_result(m)) events_.on_publish_result(m.id, PublishResult::congested);
        break;
    }
  }
  note_if_drained();
}

void Bridge::enqueue_qos0(OutboundMessage&& m, PublishId qos0_id) {
  if (!enqueue(std::move(m))) {
    // MQTT-SN QoS 0 has no flow control: the newest reading is worth more than the oldest.
    if (!queue_.drop_oldest_qos0() || !enqueue(std::move(m))) {
      ++counters_.dropped_qos0;
      return answer_soon(qos0_id, PublishResult::congested);
    }
    if (qos0_dropped_episode_++ == 0)
      MQTTSN_LOG(warning,
                 "upstream: nodes send QoS 0 faster than the broker takes it, and the queue is full "
                 "(%zu messages, %zu bytes): the oldest QoS 0 messages are dropped",
                 queue_.size(), queue_.bytes());
    ++counters_.dropped_qos0;
  }
  answer_soon(qos0_id, PublishResult::kept);
}

void Bridge::note_if_drained() {
  if (queue_peak_ == 0 || !queue_.empty() || qos0_in_client_ > 0) return;
  if (qos0_dropped_episode_ > 0)
    MQTTSN_LOG(notice, "upstream: the queue has drained; %llu QoS 0 message(s) were dropped meanwhile",
               static_cast<unsigned long long>(qos0_dropped_episode_));
  qos0_dropped_episode_ = 0;
  // A burst leaves the freed queue entries (and Paho's copies of them) in malloc's arenas, where
  // they would stay for good: give them back to the system once, now that the burst is over.
  if (queue_peak_ >= kTrimAfterQueued) malloc_trim(0);
  queue_peak_ = 0;
}

void Bridge::handle(detail::Qos0Written&) {
  if (qos0_in_client_ > 0) --qos0_in_client_;
  pump();
}

void Bridge::pump_soon() {
  if (pump_timer_ == nullptr || uv_is_active(reinterpret_cast<uv_handle_t*>(pump_timer_))) return;
  uv_timer_start(
      pump_timer_,
      [](uv_timer_t* t) {
        auto* self = static_cast<Bridge*>(t->data);
        self->pump();
        self->maybe_finish_drain();
      },
      1, 0);
}

void Bridge::handle(detail::PublishDone& e) {
  auto it = inflight_.find(e.token);
  if (it == inflight_.end()) return;  // taken back from flight already (connection lost)
  OutboundMessage m = std::move(it->second);
  inflight_.erase(it);
  if (m.qos == 2) --inflight_qos2_;
  if (e.ok && m.qos == 2) note_if_qos2_acked(e.token, m);
  if (e.ok) {
    ++counters_.acked;
    if (reports_result(m)) events_.on_publish_result(m.id, PublishResult::delivered);
  } else if (!m.internal) {
    // Not delivered and the node may not have been told yet: send it again, in its place.
    MQTTSN_LOG(debug, "upstream: publish to '%s' not confirmed (Paho %d): queued again", m.topic.c_str(),
               e.code);
    ++counters_.requeued;
    queue_.requeue(std::move(m));
  }
  pump();
  maybe_finish_drain();
}

void Bridge::take_back_inflight() {
  std::size_t n = 0;
  for (auto& [token, m] : inflight_) {
    if (m.internal) continue;
    queue_.requeue(std::move(m));
    ++n;
  }
  inflight_.clear();
  inflight_qos2_ = 0;
  counters_.requeued += n;
  if (n > 0) MQTTSN_LOG(info, "upstream: %zu unconfirmed messages queued again", n);
}

void Bridge::take_back_forgotten() {
  if (!connected_ || inflight_.empty()) return;
  MQTTAsync_token* tokens = nullptr;
  {
    const ReceiveHold::Call call(hold_, false);
    if (paho::api().getPendingTokens(client_, &tokens) != MQTTASYNC_SUCCESS) return;
  }
  std::unordered_set<MQTTAsync_token> pending;
  for (const MQTTAsync_token* t = tokens; t != nullptr && *t != -1; ++t) pending.insert(*t);
  if (tokens != nullptr) paho::api().free(tokens);
  // QoS 1 only: sending a QoS 2 message again as a new one could deliver it twice, and its exchange
  // is in Paho's records (resumed by them); a QoS 1 duplicate is what QoS 1 allows.
  std::size_t n = 0;
  for (auto it = inflight_.begin(); it != inflight_.end();) {
    const OutboundMessage& m = it->second;
    if (m.internal || m.qos != 1 || m.connection == counters_.connects || pending.contains(it->first)) {
      ++it;
      continue;
    }
    queue_.requeue(std::move(it->second));
    it = inflight_.erase(it);
    ++n;
  }
  if (n == 0) return;
  counters_.forgotten_by_client += n;
  MQTTSN_LOG(warning,
             "upstream: the MQTT client dropped %zu QoS 1 message(s) at the connection loss without a "
             "result: sending them again",
             n);
  pump();
}

void Bridge::publish_presence(const std::string& payload) {
  OutboundMessage m;
  m.seq = 0;
  m.topic = presence_topic_;
  m.payload.assign(payload.begin(), payload.end());
  m.qos = 1;
  m.retain = true;
  m.internal = true;
  if (send(m, false) != SendResult::sent)
    MQTTSN_LOG(warning, "upstream: could not publish presence '%s'", payload.c_str());
}

void Bridge::fail_remaining() {
  std::vector<PublishId> waiting;
  std::size_t promised = 0;
  auto settle = [&](OutboundMessage& m) {
    if (m.internal) return;
    if (reports_result(m))
      waiting.push_back(m.id);
    else if (m.answered)
      ++promised;
  };
  for (auto& [token, m] : inflight_) settle(m);
  auto rest = queue_.take_all();
  for (auto& m : rest) settle(m);
  inflight_.clear();
  inflight_qos2_ = 0;
  if (promised > 0)
    MQTTSN_LOG(warning, "upstream: shutdown with %zu queued messages not delivered (the queue is in memory)",
               promised);
  counters_.failed += waiting.size() + promised;
  for (auto id : waiting) events_.on_publish_result(id, PublishResult::congested);
}

}  // namespace mqttsn::bridge
