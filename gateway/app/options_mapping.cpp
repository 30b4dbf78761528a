#include "gateway/app/options_mapping.hpp"

#include <limits>

#include "radio/dtls_module.hpp"
#include "radio/serial_link.hpp"
#include "radio/udp_link.hpp"
#include "radio/unavailable_link.hpp"
#include "radio/xbee_link.hpp"

namespace mqttsn::app {
namespace {

std::uint16_t seconds_u16(std::chrono::milliseconds d) {
  const auto s = std::chrono::duration_cast<std::chrono::seconds>(d).count();
  return static_cast<std::uint16_t>(s > 65535 ? 65535 : s < 0 ? 0 : s);
}

radio::SerialOptions serial_options(const conf::SerialPortSettings& p) {
  radio::SerialOptions o;
  o.device = p.device;
  o.baud = static_cast<int>(p.baud);
  o.data_bits = p.data_bits;
  o.stop_bits = p.stop_bits;
  switch (p.parity) {
    case conf::Parity::none:
      o.parity = radio::Parity::none;
      break;
    case conf::Parity::even:
      o.parity = radio::Parity::even;
      break;
    case conf::Parity::odd:
      o.parity = radio::Parity::odd;
      break;
  }
  switch (p.flow_control) {
    case conf::FlowControl::none:
      o.flow_control = radio::FlowControl::none;
      break;
    case conf::FlowControl::rtscts:
      o.flow_control = radio::FlowControl::rtscts;
      break;
    case conf::FlowControl::xonxoff:
      o.flow_control = radio::FlowControl::xonxoff;
      break;
  }
  return o;
}

bridge::TlsOptions tls_options(const conf::TlsSettings& t) {
  bridge::TlsOptions o;
  o.ca_file = t.ca_file.string();
  o.ca_dir = t.ca_dir.string();
  o.cert_file = t.cert_file.string();
  o.key_file = t.key_file.string();
  o.verify_host_name = t.verify_hostname;
  // OpenSSL 3 negotiates the highest version both sides have; the floor is the system's (see
  // bridge_options.hpp). "1.3" cannot be enforced through Paho 1.3, so it is logged by the bridge.
  o.min_version = bridge::TlsVersion::v1_2;
  return o;
}

}  // namespace

GatewayOptions core_options(const conf::GatewayConfig& config) {
  const auto& g = config.gateway;
  GatewayOptions o;
  o.gw_id = g.id;
  o.advertise_period_s = seconds_u16(g.advertise_interval);
  o.retry_interval = g.retry_interval;
  o.max_retries = g.retry_count;
  o.keepalive_tolerance = g.keepalive_factor;
  o.session_expiry = g.session_expiry;
  // The gateway's own limit towards nodes; the broker's ([upstream] max_qos) is applied to the upstream
  // subscription (bridge/qos_translation.hpp) and reaches the node as the granted QoS.
  o.max_granted_qos = static_cast<QoS>(g.limits.max_qos);
  o.upstream_per_node = config.upstream.mode == conf::UpstreamMode::per_node;
  o.limits.max_clients = g.limits.max_clients;
  o.limits.topic_ids_per_client = g.limits.topic_ids_per_client;
  o.limits.subscriptions_per_client = g.limits.subscriptions_per_client;
  o.limits.buffered_per_client = g.limits.sleep_buffer_per_client;
  o.limits.buffered_bytes_per_client = static_cast<std::size_t>(g.limits.sleep_buffer_bytes_per_client);
  o.limits.buffered_bytes_total = static_cast<std::size_t>(g.limits.sleep_buffer_bytes_total);
  o.limits.in_flight_per_client = g.limits.inflight_per_client;
  o.limits.uplink_in_flight_per_client = g.limits.uplink_inflight_per_client;
  o.limits.max_payload = g.limits.max_payload;
  return o;
}

bridge::BridgeOptions bridge_options(const conf::GatewayConfig& config) {
  const auto& u = config.upstream;
  bridge::BridgeOptions o;
  o.servers = u.servers;
  o.gateway_id = std::to_string(config.gateway.id);
  o.client_id = u.client_id;  // expanded by the loader; the bridge uses it as given
  o.keep_alive = std::chrono::duration_cast<std::chrono::seconds>(u.keepalive);
  o.clean_session = u.clean_session;
  o.downlink_ack_wait = config.store.downlink_ack_wait;
  o.username = u.username;
  o.password_file = u.password_file.string();
  o.password_env = u.password_env;
  o.tls = tls_options(u.tls);
  o.topic_prefix = u.topic_prefix;
  o.presence = !u.presence_topic.empty();
  o.presence_topic = u.presence_topic;  // expanded by the loader, like the client id
  o.reconnect_min = u.reconnect_min;
  o.reconnect_max = u.reconnect_max;
  o.queue_max_messages = u.queue_max_messages;
  o.queue_max_bytes = static_cast<std::size_t>(u.queue_max_bytes);
  o.queue_qos0_offline = u.queue_qos0;
  o.qos0_window = u.qos0_window;
  o.qos.minus1_as = u.qos_minus1;
  o.qos.floor = u.qos_floor;
  o.qos.ceiling = u.max_qos;
  o.qos2_answer_timeout = u.qos2_answer_timeout;
  return o;
}

bridge::PerNodeOptions per_node_options(const conf::GatewayConfig& config) {
  const auto& u = config.upstream;
  bridge::PerNodeOptions o;
  o.servers = u.servers;
  o.client_id_prefix = u.node_client_id_prefix;
  o.topic_prefix = u.topic_prefix;
  o.tls = tls_options(u.tls);
  o.tls.cert_file.clear();  // the gateway's own: a node uses its own or none
  o.tls.key_file.clear();
  o.qos.minus1_as = u.qos_minus1;
  o.qos.floor = u.qos_floor;
  o.qos.ceiling = u.max_qos;
  return o;
}

PredefinedTopics core_predefined_topics(const std::vector<conf::PredefinedTopic>& topics) {
  PredefinedTopics out;
  out.reserve(topics.size());
  for (const auto& t : topics) {
    // Built in place: GCC 12 at -O2 reports a false -Wmaybe-uninitialized on a local
    // PredefinedTopic whose std::optional<std::string> is assigned and then moved.
    auto& p = out.emplace_back();
    p.id = t.id;
    p.topic = t.topic;
    if (!t.client_id.empty()) p.client_id.emplace(t.client_id);
  }
  return out;
}

namespace {

radio::DtlsLinkOptions dtls_options(radio::UdpLinkOptions udp, const conf::DtlsLinkSettings& dtls) {
  radio::DtlsLinkOptions d;
  d.udp = std::move(udp);
  d.cert_file = dtls.cert_file.string();
  d.key_file = dtls.key_file.string();
  d.ca_file = dtls.ca_file.string();
  d.require_client_cert = dtls.require_client_cert;
  d.max_sessions = dtls.max_sessions;
  d.max_handshakes = dtls.max_handshakes;
  d.idle_timeout = dtls.idle_timeout;
  d.handshake_timeout = dtls.handshake_timeout;
  d.discovery_in_clear = dtls.discovery_in_clear;
  return d;
}

}  // namespace

std::unique_ptr<radio::Link> make_link(std::uint8_t index, const conf::LinkConfig& config,
                                       radio::LinkCallbacks callbacks) {
  if (const auto* x = std::get_if<conf::XbeeLinkConfig>(&config.settings)) {
    radio::XbeeLinkOptions o;
    o.serial = serial_options(x->port);
    o.api_mode = x->api_mode == 1 ? radio::xbee::ApiMode::unescaped : radio::xbee::ApiMode::escaped;
    o.max_payload = x->mtu;
    return std::make_unique<radio::XbeeLink>(index, std::move(o), std::move(callbacks));
  }
  if (const auto* s = std::get_if<conf::SerialLinkConfig>(&config.settings)) {
    radio::SerialLinkOptions o;
    o.serial = serial_options(s->port);
    o.framing.idle_gap = s->idle_gap;
    o.framing.strict_njh = s->strict_njh;
    return std::make_unique<radio::SerialLink>(index, std::move(o), std::move(callbacks));
  }
  const auto& u = std::get<conf::UdpLinkConfig>(config.settings);
  radio::UdpLinkOptions o;
  o.bind_address = u.bind_address;
  o.port = u.port;
  o.broadcast_address = u.broadcast_address;
  o.broadcast_port = u.broadcast_port;
  o.max_datagram = u.max_datagram;
  o.receive_buffer_bytes =
      static_cast<int>(std::min<std::uint32_t>(u.receive_buffer, std::numeric_limits<int>::max()));
  if (!u.dtls.enabled) return std::make_unique<radio::UdpLink>(index, std::move(o), std::move(callbacks));
  // The pre-shared keys come from the reloadable parts (Daemon::apply_psk_keys), not from here.
  std::string error;
  if (auto link =
          radio::make_dtls_link(index, dtls_options(std::move(o), u.dtls), std::move(callbacks), error))
    return link;
  return std::make_unique<radio::UnavailableLink>(index, "dtls", error);
}

std::vector<std::string> check_link_credentials(const conf::GatewayConfig& config,
                                                const conf::ReloadableParts& parts) {
  std::vector<std::string> errors;
  for (const auto& link : config.links) {
    const auto* u = std::get_if<conf::UdpLinkConfig>(&link.settings);
    if (u == nullptr || !u->dtls.enabled || !link.enabled) continue;
    radio::DtlsLinkOptions d = dtls_options(radio::UdpLinkOptions{}, u->dtls);
    if (const auto it = parts.psk_keys.find(link.name); it != parts.psk_keys.end()) d.psk_keys = it->second;
    if (std::string error = radio::check_dtls_credentials(d); !error.empty())
      errors.push_back("link \"" + link.name + "\": " + error);
  }
  return errors;
}

}  // namespace mqttsn::app
