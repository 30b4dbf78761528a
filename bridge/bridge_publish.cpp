// Uplink: QoS translation, the send window, the offline queue and the "nothing acknowledged is
// lost" bookkeeping.
#include <MQTTAsync.h>

#include <algorithm>
#include <utility>

#include "bridge/bridge.hpp"
#include "bridge/paho_callbacks.hpp"
#include "bridge/paho_mailbox.hpp"
#include "gateway/core/log.hpp"

namespace mqttsn::bridge {

int Bridge::upstream_qos(QoS sn_qos) const {
  int q = sn_qos < 0 ? 0 : sn_qos;  // QoS -1 travels upstream as QoS 0
  q = std::max<int>(q, options_.uplink_qos_floor);
  return std::min(q, 2);
}

bool Bridge::enqueue(OutboundMessage&& m) {
  if (m.tag != 0) {
    queue_.requeue(std::move(m));  // newest seq: goes to the back, whatever the bounds say
    return true;
  }
  return queue_.push_back(std::move(m));
}

PublishOutcome Bridge::publish(std::string_view topic, Bytes payload, QoS qos, bool retain, MessageTag tag) {
  OutboundMessage m;
  m.seq = next_seq_++;
  m.tag = tag;
  m.topic = mount_.upstream(topic);
  m.payload.assign(payload.begin(), payload.end());
  m.qos = upstream_qos(qos);
  m.retain = retain;

  const bool closing = phase_ == Phase::draining || phase_ == Phase::closing || phase_ == Phase::closed;
  if (closing) {
    if (m.qos == 0) {
      ++counters_.dropped_offline;
      return {UpstreamAccept::dropped, 0};
    }
    ++counters_.congested;
    return {UpstreamAccept::congested, 0};
  }

  if (connected_) {
    if (m.qos == 0) {
      // Fire and forget, but never ahead of older messages still waiting in the queue.
      if (queue_.empty()) {
        if (send(m) == SendResult::sent) return {UpstreamAccept::accepted, 0};
      }
      if (!enqueue(std::move(m))) {
        ++counters_.dropped_offline;
        return {UpstreamAccept::dropped, 0};
      }
      pump_soon();
      return {UpstreamAccept::accepted, 0};
    }
    m.token = next_token_++;
    const UpstreamToken token = m.token;
    if (queue_.empty() && window_allows(m)) {
      switch (send(m)) {
        case SendResult::sent:
          return {UpstreamAccept::pending, token};
        case SendResult::retry_later:
          queue_.push_front(std::move(m));
          return {UpstreamAccept::pending, token};
        case SendResult::failed:
          ++counters_.failed;
          return {UpstreamAccept::congested, 0};
      }
    }
    // Behind the queue (it is draining, or the window is full): the node waits for the broker.
    if (!enqueue(std::move(m))) {
      ++counters_.congested;
      return {UpstreamAccept::congested, 0};
    }
    return {UpstreamAccept::pending, token};
  }

  // Disconnected (or not started yet).
  if (m.qos == 0 && !options_.queue_qos0_offline) {
    ++counters_.dropped_offline;
    return {UpstreamAccept::dropped, 0};
  }
  m.node_acked = true;  // the queue is our promise: the node is acknowledged now
  if (options_.report_every_result && m.qos > 0) m.token = next_token_++;
  const UpstreamToken token = m.token;
  const bool qos0 = m.qos == 0;
  if (!enqueue(std::move(m))) {
    if (qos0) {
      ++counters_.dropped_offline;
      return {UpstreamAccept::dropped, 0};
    }
    ++counters_.congested;
    return {UpstreamAccept::congested, 0};
  }
  ++counters_.queued_offline;
  return {UpstreamAccept::accepted, token};
}

Bridge::SendResult Bridge::send(OutboundMessage& m) {
  MQTTAsync_message msg = MQTTAsync_message_initializer;
  msg.payload = m.payload.empty() ? nullptr : m.payload.data();
  msg.payloadlen = static_cast<int>(m.payload.size());
  msg.qos = m.qos;
  msg.retained = m.retain ? 1 : 0;
  MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
  if (m.qos > 0) {
    ro.onSuccess = detail::paho_publish_ok;
    ro.onFailure = detail::paho_publish_failed;
    ro.context = mailbox_.get();
  }
  // Paho copies topic and payload; ro.token is the message id it assigned. Paho stores the command
  // during this call, on this thread: that is where PahoPersistence learns the message's tag.
  const PahoPersistence::Handing handing(m.tag);
  int rc = MQTTAsync_sendMessage(client_, m.topic.c_str(), &msg, &ro);
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
    return SendResult::sent;
  }
  (m.qos == 1 ? counters_.published_qos1 : counters_.published_qos2)++;
  if (m.qos == 2) ++inflight_qos2_;
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
        if (reports_result(m)) events_.on_publish_result(m.token, false);
        break;
    }
  }
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
  if (e.ok) {
    ++counters_.acked;
    if (reports_result(m)) events_.on_publish_result(m.token, true);
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

void Bridge::publish_presence(const std::string& payload) {
  OutboundMessage m;
  m.seq = 0;
  m.topic = presence_topic_;
  m.payload.assign(payload.begin(), payload.end());
  m.qos = 1;
  m.retain = true;
  m.node_acked = true;
  m.internal = true;
  if (send(m) != SendResult::sent)
    MQTTSN_LOG(warning, "upstream: could not publish presence '%s'", payload.c_str());
}

void Bridge::fail_remaining() {
  std::vector<UpstreamToken> waiting;
  std::size_t promised = 0;
  auto settle = [&](OutboundMessage& m) {
    if (m.internal) return;
    if (reports_result(m))
      waiting.push_back(m.token);
    else if (m.node_acked)
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
  for (auto t : waiting) events_.on_publish_result(t, false);
}

}  // namespace mqttsn::bridge
