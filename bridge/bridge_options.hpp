#pragma once
// Configuration of the upstream connection. Plain data: conf/ fills it from the configuration file,
// tests fill it by hand. Every field has a working default except the server list.
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "bridge/durable_records.hpp"
#include "bridge/qos_translation.hpp"
#include "gateway/core/messages.hpp"
#include "gateway/core/outputs.hpp"

namespace mqttsn::bridge {

// Minimum TLS protocol version. Paho 1.3 maps its `sslVersion` to a fixed-version method only on
// OpenSSL < 1.1; on OpenSSL 3 (bookworm) it always negotiates with TLS_client_method() and the system
// floor (TLS 1.2 in Debian's openssl.cnf) applies. We pass it on and document the limitation.
enum class TlsVersion : int { system_default = 0, v1_0 = 1, v1_1 = 2, v1_2 = 3 };

struct TlsOptions {
  std::string ca_file;           // PEM bundle of trusted CAs
  std::string ca_dir;            // directory of hashed CA certificates (c_rehash)
  std::string cert_file;         // client certificate (chain) for mutual TLS, optional
  std::string key_file;          // its private key
  bool verify_host_name = true;  // check the server certificate against the URI's host
  TlsVersion min_version = TlsVersion::system_default;
};

struct BridgeOptions {
  // Tried in order on every connection attempt (Paho fails over along the list).
  // tcp://host:port for plain MQTT, ssl://host:port for TLS.
  std::vector<std::string> servers{"tcp://127.0.0.1:1883"};
  // Used as given: placeholders are the configuration's business (conf/placeholders.hpp).
  std::string client_id = "mqttsn-gw";
  std::string gateway_id = "1";
  std::chrono::seconds keep_alive{30};
  bool clean_session = true;
  Millis connect_timeout{10'000};

  std::string username;
  // The password never has to sit in the main configuration file: read it from a file (first line,
  // trailing newline removed) or from an environment variable. `password` itself is for tests.
  std::string password_file;
  std::string password_env;
  std::string password;

  TlsOptions tls;

  // Mount point: prepended to every uplink topic and subscription filter; downlink messages outside
  // it are not delivered. Usually ends in '/', e.g. "site-7/".
  std::string topic_prefix;

  // Presence: retained "online" on connect, retained "offline" as the will and on clean shutdown.
  bool presence = true;
  std::string presence_topic;  // empty: <topic_prefix>gateway/<gateway_id>/state
  std::string presence_online = "online";
  std::string presence_offline = "offline";

  // Reconnect back-off: first retry after `reconnect_min`, doubling up to `reconnect_max`.
  Millis reconnect_min{1'000};
  Millis reconnect_max{60'000};

  // Offline queue bounds (messages waiting for the broker, not counting those in flight).
  std::size_t queue_max_messages = 10'000;
  std::size_t queue_max_bytes = 8u << 20;
  bool queue_qos0_offline = false;  // queue QoS 0/-1 while offline instead of dropping them
  // While connected: QoS 0 handed to Paho and not yet written to the socket (Paho's command queue
  // has no bound of its own). Beyond it QoS 0 waits in the queue, which drops its oldest QoS 0 when
  // full: MQTT-SN QoS 0 has no flow control, so a node faster than the broker is cut here.
  std::size_t qos0_window = 1000;
  // Where the MQTT client keeps the records of its QoS 2 exchanges across a crash (not owned; must
  // outlive the Bridge). Used only with clean_session=false: a clean session makes the broker
  // forget the packet ids those records name. nullptr: Paho keeps everything in memory.
  DurableRecords* durable_records = nullptr;
  // With durable_records: how long the MQTT client may wait for awake nodes to acknowledge a QoS 1
  // message for a kept session before it writes the message to the inbox (bridge/receive_hold.hpp).
  // A node on a UDP network answers within milliseconds, an XBee node within tens of them; a node
  // slower than this costs this wait plus the write. 0: every such message is written at once.
  Millis downlink_ack_wait{100};

  // Our send window: QoS 1/2 messages handed to Paho and not yet acknowledged by the broker.
  // Paho's own maxInflight is set to at least this.
  int max_inflight = 4096;
  // QoS 2 messages in flight upstream (PUBLISH sent, PUBCOMP not yet received). MQTT 3.1.1 has no
  // "receive maximum", but brokers enforce one: mosquitto's max_inflight_messages (default 20)
  // refuses more with a disconnect, and the bridge would then reconnect and burst again forever.
  // 10 leaves room for the unreleased QoS 2 messages a killed gateway may have left in its session.
  int max_inflight_qos2 = 10;
  // A QoS 2 exchange the broker has not completed after this long (while connected) is given up:
  // the broker is taken not to do QoS 2, and the message goes again at QoS 1.
  Millis qos2_answer_timeout{60000};

  QosTranslation qos;
};

}  // namespace mqttsn::bridge
