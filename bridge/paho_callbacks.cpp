#include "bridge/paho_callbacks.hpp"

#include <string>
#include <utility>

#include "bridge/kept_filters.hpp"
#include "bridge/paho_library.hpp"
#include "bridge/paho_mailbox.hpp"
#include "bridge/paho_persistence.hpp"
#include "bridge/receive_hold.hpp"
#include "gateway/core/log.hpp"

namespace mqttsn::bridge::detail {

namespace {
Mailbox& box(void* context) {
  return *static_cast<Mailbox*>(context);
}

ReceiveContext& receiver(void* context) {
  return *static_cast<ReceiveContext*>(context);
}

void count_inbox_write(ReceiveContext& rc, std::int64_t inbox_id) {
  if (inbox_id != 0) {
    rc.inbox_written.fetch_add(1, std::memory_order_relaxed);
  } else {
    // Refusing the message would stop every later one behind it (see the header): it goes on,
    // and the store's error is in the log and the counters.
    rc.inbox_failed.fetch_add(1, std::memory_order_relaxed);
  }
}

// The loop gets the message at once and the broker's PUBACK waits for the nodes' (see
// bridge/receive_hold.hpp); only when they do not answer in time is the message written.
int hold_for_nodes(ReceiveContext& rc, MessageArrived&& e, int packet_id, ReceiveHold::HoldId hold) {
  MessageArrived handed;
  handed.topic = e.topic;
  handed.payload = e.payload;
  handed.qos = e.qos;
  handed.retained = e.retained;
  handed.hold = hold;
  rc.box->post(std::move(handed));
  if (rc.hold->wait() == ReceiveHold::Outcome::delivered) {
    rc.acked_by_nodes.fetch_add(1, std::memory_order_relaxed);
  } else {
    const std::int64_t id = rc.persistence->add_to_inbox(e.topic, e.payload, e.qos, e.retained, packet_id);
    count_inbox_write(rc, id);
    if (id > 0) rc.box->post(InboxWritten{id});
  }
  if (rc.hold->end()) rc.box->post(HoldEnded{});
  return 1;
}
}  // namespace

void paho_connection_lost(void* context, char* cause) {
  receiver(context).box->post(ConnectionLost{cause != nullptr ? cause : "no reason given"});
}

int paho_message_arrived(void* context, char* topic, int topic_len, MQTTAsync_message* message) {
  MessageArrived e;
  // topic_len is 0 when the topic is NUL-terminated (and may contain no NUL otherwise).
  e.topic = topic_len > 0 ? std::string(topic, static_cast<std::size_t>(topic_len)) : std::string(topic);
  if (message->payloadlen > 0) {
    const auto* p = static_cast<const std::uint8_t*>(message->payload);
    e.payload.assign(p, p + message->payloadlen);
  }
  e.qos = message->qos;
  e.retained = message->retained != 0;
  const int packet_id = message->msgid;
  const auto& lib = paho::api();
  lib.freeMessage(&message);
  lib.free(topic);
  ReceiveContext& rc = receiver(context);
  if (e.qos > 0 && rc.persistence != nullptr && rc.kept->matches(e.topic)) {
    if (e.qos == 1 && rc.hold != nullptr) {
      if (const ReceiveHold::HoldId hold = rc.hold->begin())
        return hold_for_nodes(rc, std::move(e), packet_id, hold);
    }
    e.inbox_id = rc.persistence->add_to_inbox(e.topic, e.payload, e.qos, e.retained, packet_id);
    if (e.inbox_id == PahoPersistence::kAlreadyInInbox) return 1;  // handed up at start
    count_inbox_write(rc, e.inbox_id);
  }
  rc.box->post(std::move(e));
  return 1;  // we own it now
}

void paho_connect_ok(void* context, MQTTAsync_successData* data) {
  ConnectOk e;
  if (data != nullptr) {
    e.session_present = data->alt.connect.sessionPresent != 0;
  }
  box(context).post(std::move(e));
}

void paho_connect_failed(void* context, MQTTAsync_failureData* data) {
  ConnectFailed e;
  if (data != nullptr) {
    e.code = data->code;
    if (data->message != nullptr) e.message = data->message;
  }
  box(context).post(std::move(e));
}

void paho_publish_ok(void* context, MQTTAsync_successData* data) {
  box(context).post(PublishDone{data != nullptr ? data->token : 0, true, 0});
}

void paho_publish_failed(void* context, MQTTAsync_failureData* data) {
  box(context).post(PublishDone{data != nullptr ? data->token : 0, false, data != nullptr ? data->code : -1});
}

void paho_qos0_written(void* context, MQTTAsync_successData*) {
  box(context).post(Qos0Written{});
}

void paho_qos0_failed(void* context, MQTTAsync_failureData*) {
  box(context).post(Qos0Written{});
}

void paho_subscribe_ok(void* context, MQTTAsync_successData* data) {
  box(context).post(
      SubscribeDone{data != nullptr ? data->token : 0, true, data != nullptr ? data->alt.qos : 0x80});
}

void paho_subscribe_failed(void* context, MQTTAsync_failureData* data) {
  box(context).post(SubscribeDone{data != nullptr ? data->token : 0, false, 0x80});
}

void paho_disconnected(void* context, MQTTAsync_successData*) {
  box(context).post(DisconnectDone{});
}

void paho_disconnect_failed(void* context, MQTTAsync_failureData*) {
  box(context).post(DisconnectDone{});
}

int paho_ssl_error(const char* text, std::size_t len, void* context) {
  std::string s(text, len);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  box(context).post(TlsError{std::move(s)});
  return 0;
}

}  // namespace mqttsn::bridge::detail
