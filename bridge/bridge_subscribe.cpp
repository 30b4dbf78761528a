// Downlink: upstream subscriptions (one per distinct filter), their SUBACKs, and inbound messages.
#include <MQTTAsync.h>

#include <algorithm>
#include <utility>

#include "bridge/bridge.hpp"
#include "bridge/paho_callbacks.hpp"
#include "bridge/paho_library.hpp"
#include "bridge/paho_mailbox.hpp"
#include "gateway/core/log.hpp"

namespace mqttsn::bridge {

void Bridge::subscribe(std::string_view filter, QoS qos) {
  const int q = options_.qos.subscribe(qos);
  auto [it, inserted] = subscriptions_.try_emplace(std::string(filter));
  it->second.qos = q;
  it->second.reported = false;
  if (connected_) {
    send_subscribe(it->first, q);
  } else {
    // Remembered and made on connect; the node is not kept waiting for a broker that is away.
    it->second.reported = true;
    mailbox_->post(detail::DeferredSuback{it->first, q});
  }
}

void Bridge::unsubscribe(std::string_view filter) {
  auto it = subscriptions_.find(filter);
  if (it == subscriptions_.end()) return;
  subscriptions_.erase(it);
  if (!connected_) return;
  std::string upstream = mount_.upstream(filter);
  MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
  // Subscription changes are rare: they cut a hold short rather than wait for it.
  const ReceiveHold::Call call(hold_, false);
  int rc = paho::api().unsubscribe(client_, upstream.c_str(), &ro);
  if (rc != MQTTASYNC_SUCCESS)
    MQTTSN_LOG(warning, "upstream: unsubscribe '%s' failed (Paho %d)", upstream.c_str(), rc);
}

void Bridge::set_kept_filters(const std::vector<std::string>& filters) {
  std::vector<std::string> upstream;
  upstream.reserve(filters.size());
  for (const auto& f : filters) upstream.push_back(mount_.upstream(f));
  kept_filters_.replace(upstream);
}

void Bridge::send_subscribe(const std::string& filter, int qos) {
  std::string upstream = mount_.upstream(filter);
  MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
  ro.onSuccess = detail::paho_subscribe_ok;
  ro.onFailure = detail::paho_subscribe_failed;
  ro.context = mailbox_.get();
  int rc = [&] {
    const ReceiveHold::Call call(hold_, false);
    return paho::api().subscribe(client_, upstream.c_str(), qos, &ro);
  }();
  if (rc == MQTTASYNC_SUCCESS) {
    subscribe_tokens_[ro.token] = filter;
    return;
  }
  MQTTSN_LOG(warning, "upstream: subscribe '%s' not sent (Paho %d)", upstream.c_str(), rc);
  if (rc != MQTTASYNC_DISCONNECTED) mailbox_->post(detail::SubscribeDone{-1, false, 0x80});
  // Disconnected: it is made again after the reconnect.
}

void Bridge::handle(detail::SubscribeDone& e) {
  auto tok = subscribe_tokens_.find(e.token);
  if (tok == subscribe_tokens_.end()) return;
  std::string filter = std::move(tok->second);
  subscribe_tokens_.erase(tok);
  auto it = subscriptions_.find(filter);
  if (it == subscriptions_.end()) return;  // unsubscribed meanwhile
  if (!e.ok || e.granted < 0 || e.granted > 2) {
    ++counters_.subscribe_refused;
    subscriptions_.erase(it);
    MQTTSN_LOG(warning, "upstream: broker refused the subscription to '%s'", mount_.upstream(filter).c_str());
    events_.on_suback(filter, std::nullopt);
    return;
  }
  if (it->second.reported) return;  // a restore after reconnect, or granted while offline
  it->second.reported = true;
  events_.on_suback(filter, static_cast<QoS>(e.granted));
}

void Bridge::handle(detail::DeferredSuback& e) {
  if (subscriptions_.find(e.filter) == subscriptions_.end()) return;
  events_.on_suback(e.filter, static_cast<QoS>(e.granted));
}

void Bridge::handle(detail::MessageArrived& e) {
  auto topic = mount_.downstream(e.topic);
  if (!topic) {
    ++counters_.dropped_outside_prefix;
    if (e.hold != 0) hold_.settle(e.hold, ReceiveHold::Outcome::delivered);  // nobody here keeps it
    return;
  }
  ++counters_.received;
  DownlinkReceipt receipt = events_.on_message(*topic, Bytes(e.payload.data(), e.payload.size()),
                                               static_cast<QoS>(e.qos), e.retained, e.inbox_id);
  if (e.hold == 0) return;
  if (receipt.waits_for_absent) return hold_.settle(e.hold, ReceiveHold::Outcome::keep);
  if (receipt.settled()) return hold_.settle(e.hold, ReceiveHold::Outcome::delivered);
  held_receipt_ = std::move(receipt);
  held_id_ = e.hold;
  uv_check_start(hold_check_, &Bridge::on_hold_check);
}

void Bridge::on_hold_check(uv_check_t* handle) {
  auto* self = static_cast<Bridge*>(handle->data);
  if (self->held_receipt_.settled()) {
    self->hold_.settle(self->held_id_, ReceiveHold::Outcome::delivered);
  } else if (self->hold_.waiting(self->held_id_)) {
    return;
  }
  // Settled, or the hold ran out and the message went to the inbox.
  self->held_receipt_ = {};
  uv_check_stop(handle);
}

void Bridge::handle(detail::InboxWritten& e) {
  events_.on_inbox_written(e.inbox_id);
}

void Bridge::handle(detail::HoldEnded&) {
  pump();
  maybe_finish_drain();
}

}  // namespace mqttsn::bridge
