#pragma once
// The gateway's configuration as plain data: what conf/gateway.toml says, with every default filled
// in and every relative path already resolved against the configuration file's directory. The
// daemon maps these onto the option structs of the core, the radio links and the bridge; conf/
// deliberately does not depend on those components. Defaults here are the documented defaults.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <variant>
#include <vector>

#include "conf/duration.hpp"
#include "gateway/core/log.hpp"

namespace mqttsn::conf {

using namespace std::chrono_literals;

struct GatewayLimits {
  std::uint32_t max_clients = 256;
  std::uint32_t topic_ids_per_client = 64;  // registered (normal) topic ids per client
  std::uint32_t subscriptions_per_client = 32;
  // Downlink buffered for one client (asleep, away with a kept session, or awaiting an in-flight slot)
  // and for all sleeping and away clients together.
  std::uint32_t sleep_buffer_per_client = 1000;               // messages
  std::uint64_t sleep_buffer_bytes_per_client = 64 * 1024;    // topic + payload octets
  std::uint64_t sleep_buffer_bytes_total = 16 * 1024 * 1024;  // topic + payload octets
  std::uint32_t inflight_per_client = 1;          // unacknowledged QoS 1/2 messages towards a client
  std::uint32_t uplink_inflight_per_client = 16;  // a client's QoS 1/2 publishes awaiting the broker
  std::uint32_t max_payload = 4096;               // bytes in one PUBLISH payload
  std::uint8_t max_qos = 2;                       // highest QoS granted to a SUBSCRIBE
  friend bool operator==(const GatewayLimits&, const GatewayLimits&) = default;
};

struct GatewaySection {
  std::uint8_t id = 1;                           // GwId in ADVERTISE / GWINFO
  Duration advertise_interval = 15min;           // T_ADV; "0s" disables ADVERTISE
  Duration retry_interval = 10s;                 // T_RETRY
  std::uint32_t retry_count = 5;                 // N_RETRY
  double keepalive_factor = 1.5;                 // a client is lost after factor x its keep-alive
  std::filesystem::path predefined_topics_file;  // empty: no predefined topics
  // A kept session (CleanSession=0) whose node disconnected or was lost is removed this long after it
  // went away; "0s" keeps it for ever. Like mosquitto's persistent_client_expiration.
  Duration session_expiry = 7 * 24h;
  GatewayLimits limits;
  friend bool operator==(const GatewaySection&, const GatewaySection&) = default;
};

enum class Parity : std::uint8_t { none, even, odd };
enum class FlowControl : std::uint8_t { none, rtscts, xonxoff };

struct SerialPortSettings {
  std::string device;  // required: /dev/... (xbee also accepts tcp://host:port)
  std::uint32_t baud = 9600;
  std::uint8_t data_bits = 8;
  Parity parity = Parity::none;
  std::uint8_t stop_bits = 1;
  FlowControl flow_control = FlowControl::none;
  friend bool operator==(const SerialPortSettings&, const SerialPortSettings&) = default;
};

struct XbeeLinkConfig {
  SerialPortSettings port;
  std::uint8_t api_mode = 2;  // 1: plain API frames, 2: escaped (AP=2)
  std::uint32_t mtu = 84;     // largest MQTT-SN datagram in one RF frame (ATNP)
  friend bool operator==(const XbeeLinkConfig&, const XbeeLinkConfig&) = default;
};

struct SerialLinkConfig {
  SerialPortSettings port;
  Duration idle_gap = 20ms;  // silence that ends a datagram
  bool strict_njh = false;   // refuse frames whose length byte disagrees with the bytes received
  friend bool operator==(const SerialLinkConfig&, const SerialLinkConfig&) = default;
};

// DTLS 1.2 on a UDP link (dtls = true): who may handshake, and the bounds on what it costs.
struct DtlsLinkSettings {
  bool enabled = false;
  std::filesystem::path psk_file;             // `identity:hexkey` lines, reloaded on SIGHUP; empty: no PSK
  std::filesystem::path cert_file, key_file;  // the gateway's certificate; empty: none
  std::filesystem::path ca_file;              // verifies client certificates; empty: none asked
  bool require_client_cert = false;
  std::uint32_t max_sessions = 1000;
  std::uint32_t max_handshakes = 64;
  Duration idle_timeout = 5min;  // an association without an MQTT-SN session
  Duration handshake_timeout = 30s;
  bool discovery_in_clear = true;  // discovery = "clear" | "off"
  friend bool operator==(const DtlsLinkSettings&, const DtlsLinkSettings&) = default;
};

struct UdpLinkConfig {
  std::string bind_address = "0.0.0.0";
  std::uint16_t port = 10000;
  std::string broadcast_address = "255.255.255.255";  // or a multicast group such as 225.1.1.1
  std::uint16_t broadcast_port = 10000;
  std::uint32_t max_datagram = 1500;
  // Bytes asked of the kernel for queued datagrams; 0 keeps the kernel's default (~208 KiB, a few
  // hundred datagrams: one burst of nodes waking together after an outage overflows it).
  std::uint32_t receive_buffer = 2u * 1024 * 1024;
  DtlsLinkSettings dtls;
  friend bool operator==(const UdpLinkConfig&, const UdpLinkConfig&) = default;
};

enum class LinkKind : std::uint8_t { xbee, serial, udp };

struct LinkConfig {
  std::string name;  // unique; defaults to "<kind><index>", e.g. "xbee0"
  bool enabled = true;
  std::variant<XbeeLinkConfig, SerialLinkConfig, UdpLinkConfig> settings;
  LinkKind kind() const { return static_cast<LinkKind>(settings.index()); }
  friend bool operator==(const LinkConfig&, const LinkConfig&) = default;
};

struct TlsSettings {
  std::filesystem::path ca_file, ca_dir, cert_file, key_file;
  bool verify_hostname = true;
  std::string min_version = "1.2";  // "1.2" or "1.3"
  friend bool operator==(const TlsSettings&, const TlsSettings&) = default;
};

// shared: every node goes up on the gateway's one connection, under its identity (the MQTT-SN
// aggregating gateway). per_node: each node gets its own connection, with the node's client id and
// the broker identity credentials_file gives it (the transparent gateway).
enum class UpstreamMode : std::uint8_t { shared, per_node };

struct UpstreamConfig {
  UpstreamMode mode = UpstreamMode::shared;
  std::filesystem::path credentials_file;  // per_node: the nodes' broker identities (reloadable)
  std::string node_client_id_prefix;       // per_node: prepended to a node's client id at the broker
  // Node connections (per_node mode, or nodes marked per_node): at most this many at once, a node past
  // it refused with "congestion" (0: no limit); and at most node_connect_rate new ones a second towards
  // the broker, the rest waiting in order (0: no limit).
  std::uint32_t max_node_connections = 0;
  std::uint32_t node_connect_rate = 0;
  std::vector<std::string> servers{"tcp://localhost:1883"};  // tried in order
  // client_id and presence_topic may hold %h (host name), %g (gateway id) and %% (a percent sign);
  // the loader expands them, so in a loaded configuration they are the names the broker sees.
  std::string client_id = "mqttsn-gw-%h";
  Duration keepalive = 60s;
  // false: the broker keeps the gateway's subscriptions and queues QoS 1/2 messages for it while
  // the gateway restarts, so nodes' kept subscriptions lose nothing (see the store).
  bool clean_session = false;
  std::string username;                                // empty: none
  std::filesystem::path password_file;                 // first line is the password; empty: none
  std::string password_env;                            // environment variable holding it; empty: none
  TlsSettings tls;                                     // used for ssl:// and mqtts:// servers
  std::string presence_topic = "mqttsn-gw/%h/status";  // retained "online"/"offline"; "" disables
  std::string topic_prefix;                            // prepended as is to every upstream topic
  std::uint8_t qos_minus1 = 0;                         // upstream QoS for MQTT-SN QoS -1 publishes
  std::uint8_t qos_floor = 0;                          // uplink publishes go up with at least this QoS
  std::uint8_t max_qos = 2;                            // highest QoS used upstream
  // A QoS 2 exchange the broker leaves incomplete this long is taken as "no QoS 2 here" and sent again
  // at QoS 1 (a broker may answer with a PUBACK, or not at all).
  Duration qos2_answer_timeout = 60s;
  // Uplink QoS 1/2 messages acknowledged to nodes and not yet to the broker: the store's table
  // (on disk) and the bridge's queue (in memory) share these bounds. A burst of readings outruns the
  // broker for a moment; 10,000 is minutes of a field network's traffic and ~1 MB of RAM.
  std::uint32_t queue_max_messages = 10000;
  std::uint64_t queue_max_bytes = 8388608;
  bool queue_qos0 = false;  // also queue QoS 0 while offline
  // QoS 0 handed to the MQTT client and not yet written to the broker's socket. MQTT-SN QoS 0 has no
  // flow control: beyond this, QoS 0 waits in the queue above, whose oldest QoS 0 goes when it is full.
  std::uint32_t qos0_window = 1000;
  Duration reconnect_min = 1s;
  Duration reconnect_max = 60s;
  Duration shutdown_grace = 5s;  // drain time on SIGTERM
  friend bool operator==(const UpstreamConfig&, const UpstreamConfig&) = default;
};

struct AccessConfig {
  bool allow_anonymous = true;         // false: only client ids in clients_file may connect
  std::filesystem::path clients_file;  // admission list; empty: none
  std::filesystem::path acl_file;      // mosquitto-style ACL; empty: everything allowed
  friend bool operator==(const AccessConfig&, const AccessConfig&) = default;
};

struct StatusConfig {
  std::filesystem::path socket = "/run/mqttsn-gw/status.sock";
  std::uint32_t mode = 0660;
  std::uint32_t max_connections = 16;          // open at once; one more is told so and closed
  std::uint64_t max_reply_backlog = 8u << 20;  // unread reply bytes before a client is disconnected
  friend bool operator==(const StatusConfig&, const StatusConfig&) = default;
};

// The nodes as the broker sees them, under one base topic per gateway: each node's availability
// (<base>/nodes/<client id>/availability, retained) and description (<base>/nodes/<client id>),
// a summary of all (<base>/nodes), and requests (<base>/request/<verb>, answered on
// <base>/response/<verb>). The base may hold %h, %g and %% like presence_topic; "" turns it all off.
struct OperationsConfig {
  std::string base_topic = "mqttsn-gw/%h";
  bool node_documents = true;        // false: availability and summary only
  Duration document_interval = 10s;  // a node's description is published at most this often
  Duration summary_interval = 5s;    // and the summary
  bool requests = false;             // answer <base>/request/<verb> (protect it with the broker's ACL)
  std::uint32_t publish_rate = 200;  // messages per second at most, so 10,000 nodes do not flood the broker
  friend bool operator==(const OperationsConfig&, const OperationsConfig&) = default;
};

struct StoreConfig {
  bool enabled = true;
  std::filesystem::path path = "/var/lib/mqttsn-gw/state.db";
  // QoS 2 exactly once across a crash: the upstream client keeps its exchanges in a file beside the
  // store (Paho persistence). Costs throughput at QoS 1 and 2 (see README, Performance).
  bool qos2_exactly_once = true;
  // Write-behind: a QoS 1 message the broker has not acknowledged within this time is committed to
  // the store (and its node acknowledged then); one the broker takes in time is never written.
  Duration flush_interval = 200ms;
  // A QoS 1 message from the broker for a kept session is acknowledged to the broker once it is on
  // disk or every node it reached has acknowledged it: awake nodes get this long to answer before
  // the message is written. 0: always written.
  Duration downlink_ack_wait = 100ms;
  friend bool operator==(const StoreConfig&, const StoreConfig&) = default;
};

struct LoggingConfig {
  log::Level level = log::Level::notice;
  bool packet_trace = false;
  friend bool operator==(const LoggingConfig&, const LoggingConfig&) = default;
};

struct GatewayConfig {
  std::filesystem::path source;  // the file this came from (absolute)
  GatewaySection gateway;
  std::vector<LinkConfig> links;
  UpstreamConfig upstream;
  AccessConfig access;
  StatusConfig status;
  OperationsConfig operations;
  StoreConfig store;
  LoggingConfig logging;
};

const char* to_string(LinkKind kind);
const char* to_string(Parity parity);
const char* to_string(FlowControl flow);

}  // namespace mqttsn::conf
