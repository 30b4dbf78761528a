#pragma once
// Paho's callbacks. They run on Paho's threads; each one copies what it was given into an event and
// posts it to the Mailbox passed as `context`. Nothing else happens on a Paho thread, with one
// exception: the message callback makes sure a message a kept session may need is safe first.
//
// Why there: Paho acknowledges a QoS 1 message (PUBACK) as soon as the callback returns, and a QoS 2
// message reaches the callback at PUBREL and is completed (PUBCOMP) right after. From then on the
// broker holds no copy. So before the callback returns, the message must be on disk, or every node
// it reached must have acknowledged it; otherwise a crash before the loop has stored the session
// that holds it loses it. A QoS 1 message is first held while the loop delivers it (ReceiveHold:
// awake nodes answer within milliseconds and nothing is written); it is written to the inbox when
// a node that is away or asleep keeps it, or when the nodes do not answer in time. A QoS 2
// message is on disk already (Paho's record of it, written before PUBREC) and moves to the inbox.
// Messages for clean sessions are neither held nor written: nothing is promised for them.
//
// Alternative considered against Paho 1.3.12: returning 0 makes Paho keep the message in its queue
// and call again only when the next packet arrives from the broker, and every later message waits
// behind it, so a quiet link would hold messages for a keep-alive period.
#include <MQTTAsync.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace mqttsn::bridge {
class KeptFilters;
class PahoPersistence;
class ReceiveHold;
}  // namespace mqttsn::bridge

namespace mqttsn::bridge::detail {

class Mailbox;

// The context of the connection-lost and message callbacks.
struct ReceiveContext {
  Mailbox* box = nullptr;
  const KeptFilters* kept = nullptr;       // topics kept sessions subscribe to
  PahoPersistence* persistence = nullptr;  // null: no inbox (no store, or a clean upstream session)
  std::atomic<std::uint64_t> inbox_written{0};
  std::atomic<std::uint64_t> inbox_failed{0};    // delivered anyway, without the crash promise
  ReceiveHold* hold = nullptr;                   // null: QoS 1 messages for kept sessions written at once
  std::atomic<std::uint64_t> acked_by_nodes{0};  // held, and acknowledged by every node: not written
};

void paho_connection_lost(void* context, char* cause);
int paho_message_arrived(void* context, char* topic, int topic_len, MQTTAsync_message* message);
void paho_connect_ok(void* context, MQTTAsync_successData* data);
void paho_connect_failed(void* context, MQTTAsync_failureData* data);
void paho_publish_ok(void* context, MQTTAsync_successData* data);
void paho_publish_failed(void* context, MQTTAsync_failureData* data);
void paho_qos0_written(void* context, MQTTAsync_successData* data);
void paho_qos0_failed(void* context, MQTTAsync_failureData* data);
void paho_subscribe_ok(void* context, MQTTAsync_successData* data);
void paho_subscribe_failed(void* context, MQTTAsync_failureData* data);
void paho_disconnected(void* context, MQTTAsync_successData* data);
void paho_disconnect_failed(void* context, MQTTAsync_failureData* data);
int paho_ssl_error(const char* text, std::size_t len, void* context);

}  // namespace mqttsn::bridge::detail
