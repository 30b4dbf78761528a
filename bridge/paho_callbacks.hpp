#pragma once
// Paho's callbacks. They run on Paho's threads; each one copies what it was given into an event and
// posts it to the Mailbox passed as `context`. Nothing else happens on a Paho thread.
#include <MQTTAsync.h>

#include <cstddef>

namespace mqttsn::bridge::detail {

void paho_connection_lost(void* context, char* cause);
int paho_message_arrived(void* context, char* topic, int topic_len, MQTTAsync_message* message);
void paho_connect_ok(void* context, MQTTAsync_successData* data);
void paho_connect_failed(void* context, MQTTAsync_failureData* data);
void paho_publish_ok(void* context, MQTTAsync_successData* data);
void paho_publish_failed(void* context, MQTTAsync_failureData* data);
void paho_subscribe_ok(void* context, MQTTAsync_successData* data);
void paho_subscribe_failed(void* context, MQTTAsync_failureData* data);
void paho_disconnected(void* context, MQTTAsync_successData* data);
void paho_disconnect_failed(void* context, MQTTAsync_failureData* data);
int paho_ssl_error(const char* text, std::size_t len, void* context);

}  // namespace mqttsn::bridge::detail
