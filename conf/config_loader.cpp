#include "conf/config_loader.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>

#include <toml++/toml.h>

#include "conf/placeholders.hpp"
#include "conf/text_file.hpp"
#include "conf/toml_reader.hpp"
#include "conf/topic_filter.hpp"

namespace mqttsn::conf {

using detail::ReadContext;
using detail::TableReader;

namespace {

constexpr Duration kMaxSixteenBitSeconds = std::chrono::seconds(65535);

bool is_ip_literal(const std::string& text) {
  unsigned char buf[16];
  return inet_pton(AF_INET, text.c_str(), buf) == 1 || inet_pton(AF_INET6, text.c_str(), buf) == 1;
}

// MQTT and MQTT-SN carry these durations in whole seconds.
void require_whole_seconds(TableReader& t, std::string_view key, const Duration& d) {
  if (d.count() % 1000 != 0)
    if (const auto* node = t.find(key))
      t.error(*node, key, "expected whole seconds, got " + format_duration(d));
}

// "host:port" with a port from 1 to 65535 (the host part is not resolved here).
bool is_host_port(std::string_view hp) {
  const auto colon = hp.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == hp.size()) return false;
  const auto port = hp.substr(colon + 1);
  if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos) return false;
  const long value = std::stol(std::string(port));
  return value >= 1 && value <= 65535;
}

bool is_server_uri(std::string_view uri) {
  for (std::string_view scheme : {"tcp://", "ssl://", "mqtt://", "mqtts://", "ws://", "wss://"}) {
    if (uri.substr(0, scheme.size()) != scheme) continue;
    auto rest = uri.substr(scheme.size());
    const auto slash = rest.find('/');  // websocket path
    if (slash != std::string_view::npos) rest = rest.substr(0, slash);
    if (rest.empty()) return false;
    if (rest.find(':') == std::string_view::npos) return true;  // default port
    return is_host_port(rest) || (rest.front() == '[' && rest.back() == ']');
  }
  return false;
}

void read_serial_port(TableReader& t, SerialPortSettings& port) {
  if (const auto* node = t.find("device")) {
    if (t.read("device", port.device)) {
      const bool tcp = port.device.rfind("tcp://", 0) == 0;
      if (port.device.empty() || (tcp && !is_host_port(std::string_view(port.device).substr(6))) ||
          (!tcp && port.device[0] != '/'))
        t.error(*node, "device",
                "expected a device path such as \"/dev/ttyUSB0\" or \"tcp://host:port\", got " +
                    in_quotes(port.device));
    }
  } else {
    t.error_here("device", "required key missing; e.g. device = \"/dev/ttyUSB0\"");
  }
  t.read_uint("baud", port.baud, 50, 4000000);
  t.read_uint("data_bits", port.data_bits, 5, 8);
  t.read_enum("parity", port.parity, {{"none", Parity::none}, {"even", Parity::even}, {"odd", Parity::odd}});
  t.read_uint("stop_bits", port.stop_bits, 1, 2);
  t.read_enum(
      "flow_control", port.flow_control,
      {{"none", FlowControl::none}, {"rtscts", FlowControl::rtscts}, {"xonxoff", FlowControl::xonxoff}});
}

void read_ip(TableReader& t, std::string_view key, std::string& out, bool allow_empty) {
  const auto* node = t.find(key);
  std::string text;
  if (!node || !t.read(key, text)) return;
  if ((text.empty() && allow_empty) || is_ip_literal(text)) {
    out = text;
    return;
  }
  t.error(*node, key,
          std::string("expected an IPv4 or IPv6 address such as \"0.0.0.0\" or \"::\"") +
              (allow_empty ? " (or \"\" for none)" : "") + ", got " + in_quotes(text));
}

// The DTLS keys of a UDP link. They mean something only with dtls = true; given without it they are
// an error, so a link an operator meant to secure never runs in clear by a typo.
void read_dtls(TableReader& t, UdpLinkConfig& u) {
  DtlsLinkSettings& d = u.dtls;
  const auto* dtls_node = t.find("dtls");
  t.read("dtls", d.enabled);
  const char* const keys[] = {
      "psk_file",     "cert_file",      "key_file",     "ca_file",           "require_client_cert",
      "max_sessions", "max_handshakes", "idle_timeout", "handshake_timeout", "discovery"};
  if (!d.enabled) {
    for (const char* key : keys)
      if (const auto* node = t.find(key)) t.error(*node, key, "only meaningful with dtls = true");
    return;
  }
  t.read_path("psk_file", d.psk_file);
  // Unreadable credentials are named here, at their line; whether their content loads (PEM, a key
  // that matches) the link checks at start, and --check-config with it.
  for (const auto& [key, path] : {std::pair{"cert_file", &d.cert_file}, std::pair{"key_file", &d.key_file},
                                  std::pair{"ca_file", &d.ca_file}}) {
    if (!t.read_path(key, *path) || path->empty()) continue;
    if (std::ifstream in(*path); !in)
      t.error(*t.find(key), key, "cannot read " + path->string() + ": " + std::strerror(errno));
  }
  t.read("require_client_cert", d.require_client_cert);
  t.read_uint("max_sessions", d.max_sessions, 1, 100000);
  t.read_uint("max_handshakes", d.max_handshakes, 1, 10000);
  t.read_duration("idle_timeout", d.idle_timeout, 1s, 7 * 24h);
  t.read_duration("handshake_timeout", d.handshake_timeout, 1s, 5min);
  t.read_enum("discovery", d.discovery_in_clear, {{"clear", true}, {"off", false}});
  if (d.psk_file.empty() && d.cert_file.empty())
    t.error(*dtls_node, "dtls", "a DTLS link needs psk_file, or cert_file and key_file (or both)");
  if (d.cert_file.empty() != d.key_file.empty())
    t.error(*dtls_node, d.cert_file.empty() ? "cert_file" : "key_file",
            "the gateway's certificate needs both cert_file and key_file");
  if (d.require_client_cert && d.ca_file.empty())
    t.error(*dtls_node, "require_client_cert", "client certificates are verified against ca_file: set it");
  if (u.max_datagram < 256)
    t.error(*dtls_node, "max_datagram",
            "a DTLS link needs max_datagram of at least 256 (records and handshake)");
}

std::optional<LinkConfig> read_link(ReadContext& ctx, const toml::node& node, std::size_t index) {
  const std::string path = "link[" + std::to_string(index) + "]";
  const auto* table = node.as_table();
  if (!table) {
    ctx.errors->push_back({ctx.file, detail::line_of(node), path, "expected a table ([[link]])"});
    return std::nullopt;
  }
  const toml::node* kind_node = table->get("kind");
  const auto* kind_text = kind_node ? kind_node->as_string() : nullptr;
  const std::string kind = kind_text ? kind_text->get() : "";
  if (kind != "xbee" && kind != "serial" && kind != "udp") {
    const std::string valid = "expected one of \"xbee\", \"serial\", \"udp\"";
    if (!kind_node)
      ctx.errors->push_back(
          {ctx.file, detail::line_of(*table), path + ".kind", "required key missing; " + valid});
    else
      ctx.errors->push_back(
          {ctx.file, detail::line_of(*kind_node), path + ".kind",
           valid + ", got " + (kind_text ? in_quotes(kind) : detail::describe_type(*kind_node))});
    return std::nullopt;
  }
  TableReader t(ctx, *table, path, "link." + kind);
  t.find("kind");
  LinkConfig link;
  link.name = kind + std::to_string(index);
  if (const auto* name_node = t.find("name"); name_node && t.read("name", link.name)) {
    const bool ok = !link.name.empty() && link.name.size() <= 32 &&
                    std::all_of(link.name.begin(), link.name.end(), [](char c) {
                      return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
                    });
    if (!ok)
      t.error(*name_node, "name",
              "expected 1 to 32 letters, digits, '-' or '_', got " + in_quotes(link.name));
  }
  t.read("enabled", link.enabled);
  if (kind == "xbee") {
    XbeeLinkConfig x;
    read_serial_port(t, x.port);
    t.read_uint("api_mode", x.api_mode, 1, 2);
    t.read_uint("mtu", x.mtu, 16, 1500);
    link.settings = x;
  } else if (kind == "serial") {
    SerialLinkConfig s;
    read_serial_port(t, s.port);
    t.read_duration("idle_gap", s.idle_gap, 1ms, 10s);
    t.read("strict_njh", s.strict_njh);
    link.settings = s;
  } else {
    UdpLinkConfig u;
    read_ip(t, "bind_address", u.bind_address, false);
    t.read_uint("port", u.port, 1, 65535);
    u.broadcast_port = u.port;  // default: the port the gateway listens on
    read_ip(t, "broadcast_address", u.broadcast_address, true);
    t.read_uint("broadcast_port", u.broadcast_port, 1, 65535);
    t.read_uint("max_datagram", u.max_datagram, 64, 65535);
    t.read_size("receive_buffer", u.receive_buffer, 0, 256u * 1024 * 1024);
    read_dtls(t, u);
    link.settings = u;
  }
  t.finish();
  return link;
}

void read_gateway(TableReader t, GatewaySection& g) {
  t.read_uint("id", g.id, 0, 255);
  if (t.read_duration("advertise_interval", g.advertise_interval, 0s, kMaxSixteenBitSeconds))
    require_whole_seconds(t, "advertise_interval", g.advertise_interval);
  t.read_duration("retry_interval", g.retry_interval, 100ms, 5min);
  t.read_uint("retry_count", g.retry_count, 0, 100);
  t.read_double("keepalive_factor", g.keepalive_factor, 1.0, 10.0);
  t.read_duration("session_expiry", g.session_expiry, 0s, 365 * 24h);
  t.read_path("predefined_topics_file", g.predefined_topics_file);
  TableReader l = t.sub("limits");
  l.read_uint("max_clients", g.limits.max_clients, 1, 100000);
  l.read_uint("topic_ids_per_client", g.limits.topic_ids_per_client, 1, 65000);
  l.read_uint("subscriptions_per_client", g.limits.subscriptions_per_client, 0, 10000);
  l.read_uint("sleep_buffer_per_client", g.limits.sleep_buffer_per_client, 0, 100000);
  l.read_size("sleep_buffer_bytes_per_client", g.limits.sleep_buffer_bytes_per_client, 1024, 64ull << 20);
  l.read_size("sleep_buffer_bytes_total", g.limits.sleep_buffer_bytes_total, 1024, 4ull << 30);
  l.read_uint("inflight_per_client", g.limits.inflight_per_client, 1, 65535);
  l.read_uint("uplink_inflight_per_client", g.limits.uplink_inflight_per_client, 1, 1024);
  l.read_uint("max_payload", g.limits.max_payload, 1, 65535);
  l.read_uint("max_qos", g.limits.max_qos, 0, 2);
  l.finish();
  t.finish();
}

// client_id and presence_topic may hold %h, %g and %%: they are expanded here, once, and what
// the rest of the gateway gets (the bridge, --check-config) is the name the broker sees.
void read_upstream(TableReader t, UpstreamConfig& u, const PlaceholderValues& names) {
  t.read_enum("mode", u.mode, {{"shared", UpstreamMode::shared}, {"per_node", UpstreamMode::per_node}});
  t.read_path("credentials_file", u.credentials_file);
  t.read("node_client_id_prefix", u.node_client_id_prefix);
  t.read_uint("max_node_connections", u.max_node_connections, 0, 1000000);
  t.read_uint("node_connect_rate", u.node_connect_rate, 0, 100000);
  if (u.mode == UpstreamMode::per_node && u.credentials_file.empty())
    t.error_here("credentials_file",
                 "mode = \"per_node\" needs a credentials_file (the nodes' broker identities)");
  if (const auto* node = t.find("servers"); node && t.read_string_list("servers", u.servers)) {
    if (u.servers.empty())
      t.error(*node, "servers", "expected at least one server URI such as \"tcp://localhost:1883\"");
    for (const auto& uri : u.servers)
      if (!is_server_uri(uri))
        t.error(*node, "servers",
                "expected URIs such as \"tcp://host:1883\" or \"ssl://host:8883\" (schemes tcp, ssl, mqtt, "
                "mqtts, "
                "ws, wss), got " +
                    in_quotes(uri));
  }
  if (const auto* node = t.find("client_id"); node && t.read("client_id", u.client_id)) {
    auto problem = u.client_id.empty()
                       ? std::optional<std::string>("expected a non-empty client id such as \"mqttsn-gw-%h\"")
                       : placeholder_problem(u.client_id, names);
    if (problem)
      t.error(*node, "client_id", *problem);
    else
      u.client_id = expand_placeholders(u.client_id, names);
  } else {
    u.client_id = expand_placeholders(u.client_id, names);  // the default has placeholders too
  }
  if (t.read_duration("keepalive", u.keepalive, 0s, kMaxSixteenBitSeconds))
    require_whole_seconds(t, "keepalive", u.keepalive);
  t.read("clean_session", u.clean_session);
  t.read("username", u.username);
  t.read_path("password_file", u.password_file);
  if (const auto* node = t.find("password_env"); node && t.read("password_env", u.password_env)) {
    const bool ok = !u.password_env.empty() && !std::isdigit(static_cast<unsigned char>(u.password_env[0])) &&
                    std::all_of(u.password_env.begin(), u.password_env.end(), [](char c) {
                      return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
                    });
    if (!ok)
      t.error(*node, "password_env",
              "expected an environment variable name such as \"MQTTSN_GW_PASSWORD\", got " +
                  in_quotes(u.password_env));
    else if (!u.password_file.empty())
      t.error(*node, "password_env", "set either password_file or password_env, not both");
  }
  if ((!u.password_file.empty() || !u.password_env.empty()) && u.username.empty())
    t.error_here("username", "a password needs a username (MQTT 3.1.1 section 3.1.2.9)");

  TableReader tls = t.sub("tls");
  tls.read_path("ca_file", u.tls.ca_file);
  tls.read_path("ca_dir", u.tls.ca_dir);
  tls.read_path("cert_file", u.tls.cert_file);
  tls.read_path("key_file", u.tls.key_file);
  tls.read("verify_hostname", u.tls.verify_hostname);
  tls.read_enum("min_version", u.tls.min_version, {{"1.2", std::string("1.2")}, {"1.3", std::string("1.3")}});
  if (u.tls.cert_file.empty() != u.tls.key_file.empty())
    tls.error_here(u.tls.cert_file.empty() ? "cert_file" : "key_file",
                   "a client certificate needs both cert_file and key_file");
  tls.finish();

  if (const auto* node = t.find("presence_topic"); node && t.read("presence_topic", u.presence_topic)) {
    auto problem = placeholder_problem(u.presence_topic, names);
    if (!problem && !u.presence_topic.empty()) {
      // Checked as the broker will see it: a host name becomes part of the topic.
      const std::string topic = expand_placeholders(u.presence_topic, names);
      problem = topic_name_problem(topic);
      if (problem && topic != u.presence_topic) *problem += " (expanded: " + in_quotes(topic) + ")";
      u.presence_topic = topic;
    }
    if (problem) t.error(*node, "presence_topic", *problem);
  } else {
    u.presence_topic = expand_placeholders(u.presence_topic, names);  // the default has placeholders too
  }
  if (const auto* node = t.find("topic_prefix"); node && t.read("topic_prefix", u.topic_prefix)) {
    if (u.topic_prefix.find_first_of("+#") != std::string::npos)
      t.error(*node, "topic_prefix", "a topic prefix may not contain the wildcards '+' or '#'");
  }
  t.read_uint("qos_minus1", u.qos_minus1, 0, 2);
  t.read_uint("qos_floor", u.qos_floor, 0, 2);
  if (t.read_uint("max_qos", u.max_qos, 0, 2) && u.qos_floor > u.max_qos)
    t.error(*t.find("max_qos"), "max_qos",
            "must not be lower than qos_floor (" + std::to_string(u.qos_floor) + ")");
  t.read_duration("qos2_answer_timeout", u.qos2_answer_timeout, 1s, 1h);

  TableReader q = t.sub("offline_queue");
  q.read_uint("max_messages", u.queue_max_messages, 0, 10000000);
  q.read_uint("max_bytes", u.queue_max_bytes, 0, 1ull << 30);
  q.read("queue_qos0", u.queue_qos0);
  q.read_uint("qos0_window", u.qos0_window, 1, 1000000);
  q.finish();

  TableReader r = t.sub("reconnect");
  r.read_duration("min_backoff", u.reconnect_min, 100ms, 1h);
  if (r.read_duration("max_backoff", u.reconnect_max, 1s, 24h) && u.reconnect_max < u.reconnect_min)
    r.error(*r.find("max_backoff"), "max_backoff",
            "must not be shorter than min_backoff (" + format_duration(u.reconnect_min) + ")");
  r.finish();
  t.read_duration("shutdown_grace", u.shutdown_grace, 0s, 5min);
  t.finish();
}

void read_access(TableReader t, AccessConfig& a) {
  t.read("allow_anonymous", a.allow_anonymous);
  t.read_path("clients_file", a.clients_file);
  t.read_path("acl_file", a.acl_file);
  if (!a.allow_anonymous && a.clients_file.empty()) {
    if (const auto* node = t.find("allow_anonymous"))
      t.error(*node, "allow_anonymous",
              "false refuses every client unless clients_file names an admission list");
  }
  t.finish();
}

void read_status(TableReader t, StatusConfig& s) {
  t.read_path("socket", s.socket);
  if (s.socket.empty())
    if (const auto* node = t.find("socket"))
      t.error(*node, "socket", "expected a path such as \"/run/mqttsn-gw/status.sock\"");
  t.read_file_mode("mode", s.mode);
  t.read_uint("max_connections", s.max_connections, 1, 1024);
  t.read_size("max_reply_backlog", s.max_reply_backlog, 64 * 1024, 256ull << 20);
  t.finish();
}

void read_operations(TableReader t, OperationsConfig& o, const PlaceholderValues& names) {
  if (const auto* node = t.find("base_topic"); node && t.read("base_topic", o.base_topic)) {
    auto problem = placeholder_problem(o.base_topic, names);
    if (!problem && !o.base_topic.empty()) {
      const std::string topic = expand_placeholders(o.base_topic, names);
      problem = topic_name_problem(topic);
      if (!problem && topic.back() == '/')
        problem = "expected a topic without a trailing '/', such as \"mqttsn-gw/%h\"";
      if (problem && topic != o.base_topic) *problem += " (expanded: " + in_quotes(topic) + ")";
      o.base_topic = topic;
    }
    if (problem) t.error(*node, "base_topic", *problem);
  } else {
    o.base_topic = expand_placeholders(o.base_topic, names);  // the default has placeholders too
  }
  t.read("node_documents", o.node_documents);
  t.read_duration("document_interval", o.document_interval, 1s, 24h);
  t.read_duration("summary_interval", o.summary_interval, 1s, 24h);
  t.read("requests", o.requests);
  t.read_uint("publish_rate", o.publish_rate, 1, 100000);
  t.finish();
}

void read_store(TableReader t, StoreConfig& s) {
  t.read("enabled", s.enabled);
  t.read_path("path", s.path);
  t.read("qos2_exactly_once", s.qos2_exactly_once);
  t.read_duration("flush_interval", s.flush_interval, 1ms, 10s);
  t.read_duration("downlink_ack_wait", s.downlink_ack_wait, 0ms, 5s);
  if (s.path.empty() && s.enabled)
    if (const auto* node = t.find("path"))
      t.error(*node, "path", "expected a path such as \"/var/lib/mqttsn-gw/state.db\"");
  t.finish();
}

void read_logging(TableReader t, LoggingConfig& l) {
  using log::Level;
  t.read_enum("level", l.level,
              {{"error", Level::error},
               {"warning", Level::warning},
               {"notice", Level::notice},
               {"info", Level::info},
               {"debug", Level::debug},
               {"trace", Level::trace}});
  t.read("packet_trace", l.packet_trace);
  t.finish();
}

void read_root(ReadContext& ctx, const toml::table& root, GatewayConfig& cfg, std::string_view host_name) {
  TableReader t(ctx, root, "", "");
  read_gateway(t.sub("gateway"), cfg.gateway);

  const toml::node* links = t.find("link");
  if (!links) {
    ctx.errors->push_back({ctx.file, 0, "link",
                           "at least one [[link]] table is required (kind \"xbee\", \"serial\" or \"udp\")"});
  } else if (const auto* array = links->as_array(); !array) {
    t.error(*links, "link", "expected [[link]] tables, got " + detail::describe_type(*links));
  } else {
    for (std::size_t i = 0; i < array->size(); ++i)
      if (auto link = read_link(ctx, *array->get(i), i)) cfg.links.push_back(std::move(*link));
    for (std::size_t i = 0; i < cfg.links.size(); ++i)
      for (std::size_t j = 0; j < i; ++j)
        if (cfg.links[i].name == cfg.links[j].name)
          ctx.errors->push_back({ctx.file, detail::line_of(*array->get(i)),
                                 "link[" + std::to_string(i) + "].name",
                                 "duplicate link name " + in_quotes(cfg.links[i].name)});
  }

  // After [gateway]: %g is its id.
  read_upstream(t.sub("upstream"), cfg.upstream, {.host_name = host_name, .gateway_id = cfg.gateway.id});
  read_access(t.sub("access"), cfg.access);
  read_status(t.sub("status"), cfg.status);
  read_operations(t.sub("operations"), cfg.operations,
                  {.host_name = host_name, .gateway_id = cfg.gateway.id});
  read_store(t.sub("store"), cfg.store);
  read_logging(t.sub("logging"), cfg.logging);
  t.finish();
}

LoadResult parse_with(std::string_view text, const std::filesystem::path& file, std::string_view host_name,
                      std::set<std::string>* schema) {
  LoadResult result;
  std::error_code ec;
  auto absolute = std::filesystem::absolute(file, ec);
  if (ec) absolute = file;
  result.config.source = absolute.lexically_normal();
  ReadContext ctx{file.string(), result.config.source.parent_path(), &result.errors, schema};
  try {
    const toml::table root = toml::parse(text, file.string());
    read_root(ctx, root, result.config, host_name);
    // Reported in file order, whatever order the sections were read in.
    std::stable_sort(result.errors.begin(), result.errors.end(),
                     [](const ConfigError& a, const ConfigError& b) { return a.line < b.line; });
  } catch (const toml::parse_error& e) {
    result.errors.push_back({ctx.file, static_cast<int>(e.source().begin.line), "",
                             "not valid TOML: " + std::string(e.description())});
  }
  return result;
}

}  // namespace

LoadResult parse_config(std::string_view text, const std::filesystem::path& file) {
  return parse_with(text, file, local_host_name(), nullptr);
}

LoadResult parse_config(std::string_view text, const std::filesystem::path& file,
                        std::string_view host_name) {
  return parse_with(text, file, host_name, nullptr);
}

LoadResult load_config(const std::filesystem::path& file) {
  LoadResult result;
  const auto text = read_text_file(file, file.string(), result.errors);
  if (!text) return result;
  return parse_config(*text, file);
}

std::set<std::string> known_config_keys() {
  // A configuration with one link of each kind walks every reader once.
  static constexpr std::string_view kEveryKind = R"(
[[link]]
kind = "xbee"
device = "/dev/null"
[[link]]
kind = "serial"
device = "/dev/null"
[[link]]
kind = "udp"
)";
  std::set<std::string> schema;
  parse_with(kEveryKind, "schema.toml", "localhost", &schema);
  return schema;
}

const char* to_string(LinkKind kind) {
  switch (kind) {
    case LinkKind::xbee:
      return "xbee";
    case LinkKind::serial:
      return "serial";
    case LinkKind::udp:
      return "udp";
  }
  return "?";
}

const char* to_string(Parity parity) {
  switch (parity) {
    case Parity::none:
      return "none";
    case Parity::even:
      return "even";
    case Parity::odd:
      return "odd";
  }
  return "?";
}

const char* to_string(FlowControl flow) {
  switch (flow) {
    case FlowControl::none:
      return "none";
    case FlowControl::rtscts:
      return "rtscts";
    case FlowControl::xonxoff:
      return "xonxoff";
  }
  return "?";
}

}  // namespace mqttsn::conf
