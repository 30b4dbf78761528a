// The loader's error classes, each with its exact message, and its defaults.
#include <doctest/doctest.h>

#include <string>

#include "conf/config_loader.hpp"
#include "support/temp_dir.hpp"

using namespace mqttsn::conf;
using namespace std::chrono_literals;

namespace {

constexpr const char* kUdpLink = "\n[[link]]\nkind = \"udp\"\n";

// Parses `text` (plus a UDP link at the end, so line numbers of `text` stay as written).
LoadResult parse(const std::string& text, bool add_link = true) {
  return parse_config(add_link ? text + kUdpLink : text, "/etc/mqttsn-gw/t.toml");
}

std::string errors_of(const LoadResult& r) {
  return to_string(r.errors);
}

}  // namespace

TEST_CASE("config: a minimal file gets every documented default") {
  const auto r = parse("");
  REQUIRE_MESSAGE(r.ok(), errors_of(r));
  const auto& c = r.config;
  CHECK(c.gateway.id == 1);
  CHECK(c.gateway.advertise_interval == 15min);
  CHECK(c.gateway.retry_interval == 10s);
  CHECK(c.gateway.retry_count == 5);
  CHECK(c.gateway.keepalive_factor == doctest::Approx(1.5));
  CHECK(c.gateway.session_expiry == 7 * 24h);
  CHECK(c.gateway.predefined_topics_file.empty());
  CHECK(c.gateway.limits.max_clients == 256);
  REQUIRE(c.links.size() == 1);
  CHECK(c.links[0].kind() == LinkKind::udp);
  CHECK(c.links[0].name == "udp0");
  const auto& udp = std::get<UdpLinkConfig>(c.links[0].settings);
  CHECK(udp.port == 10000);
  CHECK(udp.broadcast_port == 10000);
  CHECK(c.upstream.servers == std::vector<std::string>{"tcp://localhost:1883"});
  CHECK(c.upstream.keepalive == 60s);
  CHECK(c.upstream.qos2_answer_timeout == 60s);
  CHECK(c.access.allow_anonymous);
  CHECK(c.access.acl_file.empty());
  CHECK(c.status.socket == "/run/mqttsn-gw/status.sock");
  CHECK(c.status.mode == 0660);
  CHECK(c.store.path == "/var/lib/mqttsn-gw/state.db");
  CHECK(c.store.qos2_exactly_once);
  CHECK(c.logging.level == mqttsn::log::Level::notice);
  CHECK(c.source == "/etc/mqttsn-gw/t.toml");
}

TEST_CASE("config: an unknown key names the valid keys of its table") {
  const auto r = parse("[gateway]\nid = 1\ncolour = \"red\"\n");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].to_string() ==
        "/etc/mqttsn-gw/t.toml:3: gateway.colour: unknown key; valid keys here: id, advertise_interval, "
        "retry_interval, retry_count, keepalive_factor, session_expiry, predefined_topics_file, limits");
}

TEST_CASE("config: an unknown key inside a [[link]] table is an error for that link's kind") {
  const auto r = parse_config("[[link]]\nkind = \"udp\"\nbaud = 9600\n", "t.toml");
  REQUIRE(r.errors.size() == 1);
  CHECK(
      r.errors[0].to_string() ==
      "t.toml:3: link[0].baud: unknown key; valid keys here: kind, name, enabled, bind_address, port, "
      "broadcast_address, broadcast_port, max_datagram, receive_buffer, dtls, psk_file, cert_file, key_file, "
      "ca_file, require_client_cert, max_sessions, max_handshakes, idle_timeout, handshake_timeout, "
      "discovery");
}

TEST_CASE("config: unknown top-level tables are reported") {
  const auto r = parse("[upstreams]\nservers = []\n");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].line == 1);
  CHECK(r.errors[0].key == "upstreams");
  CHECK(r.errors[0].message.rfind(
            "unknown key; valid keys here: gateway, link, upstream, access, status, operations, store, "
            "logging",
            0) == 0);
}

TEST_CASE("config: wrong types say what was expected and what was found") {
  const auto r = parse(
      "[gateway]\nid = \"one\"\n[upstream]\nclean_session = \"yes\"\nservers = \"tcp://a:1\"\n"
      "[logging]\nlevel = 3\n[gateway.limits]\nmax_qos = 1.5\n");
  REQUIRE(r.errors.size() == 5);
  CHECK(r.errors[0].to_string() ==
        "/etc/mqttsn-gw/t.toml:2: gateway.id: expected an integer from 0 to 255, got \"one\"");
  CHECK(r.errors[1].to_string() ==
        "/etc/mqttsn-gw/t.toml:4: upstream.clean_session: expected true or false, got \"yes\"");
  CHECK(r.errors[2].to_string() ==
        "/etc/mqttsn-gw/t.toml:5: upstream.servers: expected an array of strings such as "
        "[\"tcp://localhost:1883\"], "
        "got \"tcp://a:1\"");
  CHECK(r.errors[3].to_string() == "/etc/mqttsn-gw/t.toml:7: logging.level: expected a string, got 3");
  CHECK(r.errors[4].to_string() ==
        "/etc/mqttsn-gw/t.toml:9: gateway.limits.max_qos: expected an integer from 0 to 2, got a "
        "floating-point number");
}

TEST_CASE("config: values out of range or not among the valid ones") {
  const auto r = parse("[gateway]\nid = 300\nkeepalive_factor = 0.5\n[logging]\nlevel = \"loud\"\n");
  REQUIRE(r.errors.size() == 3);
  CHECK(r.errors[0].to_string() ==
        "/etc/mqttsn-gw/t.toml:2: gateway.id: expected an integer from 0 to 255, got 300");
  CHECK(r.errors[1].to_string() ==
        "/etc/mqttsn-gw/t.toml:3: gateway.keepalive_factor: expected a number from 1 to 10, got 0.5");
  CHECK(
      r.errors[2].to_string() ==
      "/etc/mqttsn-gw/t.toml:5: logging.level: expected one of \"error\", \"warning\", \"notice\", \"info\", "
      "\"debug\", \"trace\", got \"loud\"");
}

TEST_CASE("config: durations need a unit and a sensible range") {
  const auto r = parse(
      "[upstream]\nkeepalive = \"abc\"\nshutdown_grace = 30\n"
      "[upstream.reconnect]\nmin_backoff = \"10ms\"\n[gateway]\nadvertise_interval = \"1500ms\"\n");
  REQUIRE(r.errors.size() == 4);
  CHECK(r.errors[0].to_string() ==
        "/etc/mqttsn-gw/t.toml:2: upstream.keepalive: expected a duration such as \"30s\" or \"15m\", got "
        "\"abc\"");
  CHECK(r.errors[1].to_string() ==
        "/etc/mqttsn-gw/t.toml:3: upstream.shutdown_grace: expected a duration such as \"30s\" or \"15m\", "
        "got 30");
  CHECK(r.errors[2].to_string() ==
        "/etc/mqttsn-gw/t.toml:5: upstream.reconnect.min_backoff: expected a duration from 100ms to 1h, got "
        "\"10ms\"");
  CHECK(r.errors[3].to_string() ==
        "/etc/mqttsn-gw/t.toml:7: gateway.advertise_interval: expected whole seconds, got 1s500ms");
}

TEST_CASE("config: session_expiry takes days, 0s keeps sessions for ever, and is bounded") {
  const auto days = parse("[gateway]\nsession_expiry = \"2d12h\"\n");
  REQUIRE_MESSAGE(days.ok(), errors_of(days));
  CHECK(days.config.gateway.session_expiry == 60h);
  const auto never = parse("[gateway]\nsession_expiry = \"0s\"\n");
  REQUIRE_MESSAGE(never.ok(), errors_of(never));
  CHECK(never.config.gateway.session_expiry == 0s);
  const auto too_long = parse("[gateway]\nid = 2\nsession_expiry = \"400d\"\n");
  REQUIRE(too_long.errors.size() == 1);
  CHECK(too_long.errors[0].to_string() ==
        "/etc/mqttsn-gw/t.toml:3: gateway.session_expiry: expected a duration from 0s to 365d, got \"400d\"");
  const auto bare = parse("[gateway]\n\nsession_expiry = 7\n");
  REQUIRE(bare.errors.size() == 1);
  CHECK(bare.errors[0].to_string() ==
        "/etc/mqttsn-gw/t.toml:3: gateway.session_expiry: expected a duration such as \"30s\" or \"15m\", "
        "got 7");
}

TEST_CASE("config: a link needs a valid kind, and serial kinds need a device") {
  const auto r = parse_config(
      "[[link]]\nkind = \"zigbee\"\n[[link]]\nname = \"x\"\n[[link]]\nkind = \"xbee\"\n"
      "[[link]]\nkind = 5\n",
      "t.toml");
  REQUIRE(r.errors.size() == 4);
  CHECK(r.errors[0].to_string() ==
        "t.toml:2: link[0].kind: expected one of \"xbee\", \"serial\", \"udp\", got \"zigbee\"");
  CHECK(r.errors[1].to_string() ==
        "t.toml:3: link[1].kind: required key missing; expected one of \"xbee\", \"serial\", \"udp\"");
  CHECK(r.errors[2].to_string() ==
        "t.toml:5: link[2].device: required key missing; e.g. device = \"/dev/ttyUSB0\"");
  CHECK(r.errors[3].to_string() ==
        "t.toml:8: link[3].kind: expected one of \"xbee\", \"serial\", \"udp\", got an integer");
}

TEST_CASE("config: at least one link is required") {
  const auto r = parse("", false);
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].to_string() ==
        "/etc/mqttsn-gw/t.toml: link: at least one [[link]] table is required (kind \"xbee\", \"serial\" or "
        "\"udp\")");
}

TEST_CASE("config: link settings are read and checked per kind") {
  const auto r = parse_config(R"([[link]]
kind = "xbee"
device = "tcp://192.168.1.5:9750"
baud = 115200
parity = "even"
flow_control = "rtscts"
api_mode = 1
[[link]]
kind = "serial"
name = "bench"
device = "/dev/ttyAMA0"
idle_gap = "5ms"
strict_njh = true
[[link]]
kind = "udp"
bind_address = "::"
port = 1884
broadcast_address = "ff02::1"
)",
                              "t.toml");
  REQUIRE_MESSAGE(r.ok(), errors_of(r));
  REQUIRE(r.config.links.size() == 3);
  const auto& x = std::get<XbeeLinkConfig>(r.config.links[0].settings);
  CHECK(r.config.links[0].name == "xbee0");
  CHECK(x.port.device == "tcp://192.168.1.5:9750");
  CHECK(x.port.baud == 115200);
  CHECK(x.port.parity == Parity::even);
  CHECK(x.port.flow_control == FlowControl::rtscts);
  CHECK(x.api_mode == 1);
  const auto& s = std::get<SerialLinkConfig>(r.config.links[1].settings);
  CHECK(r.config.links[1].name == "bench");
  CHECK(s.idle_gap == 5ms);
  CHECK(s.strict_njh);
  const auto& u = std::get<UdpLinkConfig>(r.config.links[2].settings);
  CHECK(u.bind_address == "::");
  CHECK(u.port == 1884);
  CHECK(u.broadcast_port == 1884);  // follows port unless given
  CHECK(u.broadcast_address == "ff02::1");
}

TEST_CASE("config: bad link values") {
  const auto r = parse_config(R"([[link]]
kind = "xbee"
device = "ttyUSB0"
data_bits = 9
parity = "mark"
api_mode = 3
[[link]]
kind = "udp"
name = "bad name"
bind_address = "localhost"
port = 70000
[[link]]
kind = "udp"
name = "xbee0"
)",
                              "t.toml");
  REQUIRE(r.errors.size() == 8);
  CHECK(r.errors[0].to_string() ==
        "t.toml:3: link[0].device: expected a device path such as \"/dev/ttyUSB0\" or \"tcp://host:port\", "
        "got \"ttyUSB0\"");
  CHECK(r.errors[1].to_string() == "t.toml:4: link[0].data_bits: expected an integer from 5 to 8, got 9");
  CHECK(r.errors[2].to_string() ==
        "t.toml:5: link[0].parity: expected one of \"none\", \"even\", \"odd\", got \"mark\"");
  CHECK(r.errors[3].to_string() == "t.toml:6: link[0].api_mode: expected an integer from 1 to 2, got 3");
  CHECK(r.errors[4].to_string() ==
        "t.toml:9: link[1].name: expected 1 to 32 letters, digits, '-' or '_', got \"bad name\"");
  CHECK(
      r.errors[5].to_string() ==
      "t.toml:10: link[1].bind_address: expected an IPv4 or IPv6 address such as \"0.0.0.0\" or \"::\", got "
      "\"localhost\"");
  CHECK(r.errors[6].to_string() == "t.toml:11: link[1].port: expected an integer from 1 to 65535, got 70000");
  CHECK(r.errors[7].to_string() == "t.toml:12: link[2].name: duplicate link name \"xbee0\"");
}

TEST_CASE("config: upstream consistency checks") {
  const auto r = parse(R"([upstream]
servers = ["http://broker:80", "tcp://broker:1883"]
client_id = "gw-%x"
password_file = "pw"
password_env = "PW"
presence_topic = "gw/+/status"
qos_floor = 2
max_qos = 1
[upstream.tls]
cert_file = "client.crt"
min_version = "1.1"
[upstream.reconnect]
min_backoff = "30s"
max_backoff = "10s"
)");
  const std::string all = errors_of(r);
  CHECK(
      all ==
      "/etc/mqttsn-gw/t.toml:1: upstream.username: a password needs a username (MQTT 3.1.1 section 3.1.2.9)\n"
      "/etc/mqttsn-gw/t.toml:2: upstream.servers: expected URIs such as \"tcp://host:1883\" or "
      "\"ssl://host:8883\" "
      "(schemes tcp, ssl, mqtt, mqtts, ws, wss), got \"http://broker:80\"\n"
      "/etc/mqttsn-gw/t.toml:3: upstream.client_id: unknown placeholder '%x'; valid: %h (host name), %g "
      "(gateway "
      "id), %%\n"
      "/etc/mqttsn-gw/t.toml:5: upstream.password_env: set either password_file or password_env, not both\n"
      "/etc/mqttsn-gw/t.toml:6: upstream.presence_topic: a topic name may not contain the wildcards '+' or "
      "'#'\n"
      "/etc/mqttsn-gw/t.toml:8: upstream.max_qos: must not be lower than qos_floor (2)\n"
      "/etc/mqttsn-gw/t.toml:9: upstream.tls.key_file: a client certificate needs both cert_file and "
      "key_file\n"
      "/etc/mqttsn-gw/t.toml:11: upstream.tls.min_version: expected one of \"1.2\", \"1.3\", got \"1.1\"\n"
      "/etc/mqttsn-gw/t.toml:14: upstream.reconnect.max_backoff: must not be shorter than min_backoff "
      "(30s)\n");
}

TEST_CASE("config: the upstream names are loaded with their placeholders expanded, once") {
  const auto r = parse_config(R"([gateway]
id = 3
[upstream]
client_id = "gw-%%h-%g"
presence_topic = "gw/%h/%g/100%%"
[[link]]
kind = "udp"
)",
                              "/etc/mqttsn-gw/t.toml", "pi");
  REQUIRE_MESSAGE(r.ok(), errors_of(r));
  CHECK(r.config.upstream.client_id == "gw-%h-3");
  CHECK(r.config.upstream.presence_topic == "gw/pi/3/100%");

  // The defaults have placeholders too; "" (no presence) stays empty.
  const auto defaults = parse_config("[[link]]\nkind = \"udp\"\n", "/etc/mqttsn-gw/t.toml", "pi");
  REQUIRE_MESSAGE(defaults.ok(), errors_of(defaults));
  CHECK(defaults.config.upstream.client_id == "mqttsn-gw-pi");
  CHECK(defaults.config.upstream.presence_topic == "mqttsn-gw/pi/status");
  const auto none = parse("[upstream]\npresence_topic = \"\"\n");
  REQUIRE_MESSAGE(none.ok(), errors_of(none));
  CHECK(none.config.upstream.presence_topic.empty());

  // Loading the same file twice gives the same names (a reload sees no change in [upstream]).
  const auto again = parse_config(R"([gateway]
id = 3
[upstream]
client_id = "gw-%%h-%g"
presence_topic = "gw/%h/%g/100%%"
[[link]]
kind = "udp"
)",
                                  "/etc/mqttsn-gw/t.toml", "pi");
  CHECK(again.config.upstream == r.config.upstream);
}

TEST_CASE("config: placeholders that are unknown or do not apply are errors with file and line") {
  const auto r = parse_config(R"([upstream]
client_id = "gw-%c"
presence_topic = "gw/%q/status"
[[link]]
kind = "udp"
)",
                              "/etc/mqttsn-gw/t.toml", "pi");
  CHECK(errors_of(r) ==
        "/etc/mqttsn-gw/t.toml:2: upstream.client_id: '%c' (client id) does not apply here; valid: %h (host "
        "name), %g (gateway id), %%\n"
        "/etc/mqttsn-gw/t.toml:3: upstream.presence_topic: unknown placeholder '%q'; valid: %h (host name), "
        "%g (gateway id), %%\n");

  // The presence topic is checked as the broker will see it, host name included.
  const auto odd_host = parse_config("[upstream]\npresence_topic = \"gw/%h\"\n[[link]]\nkind = \"udp\"\n",
                                     "/etc/mqttsn-gw/t.toml", "a+b");
  CHECK(errors_of(odd_host) ==
        "/etc/mqttsn-gw/t.toml:2: upstream.presence_topic: a topic name may not contain the wildcards '+' or "
        "'#' (expanded: \"gw/a+b\")\n");
}

TEST_CASE("config: access, status and store checks") {
  const auto r = parse("[access]\nallow_anonymous = false\n[status]\nmode = 660\n[store]\npath = \"\"\n");
  CHECK(errors_of(r) ==
        "/etc/mqttsn-gw/t.toml:2: access.allow_anonymous: false refuses every client unless clients_file "
        "names an "
        "admission list\n"
        "/etc/mqttsn-gw/t.toml:4: status.mode: expected a file mode in octal such as \"0660\", got 660\n"
        "/etc/mqttsn-gw/t.toml:6: store.path: expected a path such as \"/var/lib/mqttsn-gw/state.db\"\n");
  const auto octal = parse("[status]\nmode = 0o640\n");
  REQUIRE_MESSAGE(octal.ok(), errors_of(octal));
  CHECK(octal.config.status.mode == 0640);
  const auto text = parse("[status]\nmode = \"0600\"\n");
  CHECK(text.config.status.mode == 0600);
  const auto off = parse("[store]\nqos2_exactly_once = false\n");
  REQUIRE_MESSAGE(off.ok(), errors_of(off));
  CHECK_FALSE(off.config.store.qos2_exactly_once);
  const auto wrong = parse("[store]\nqos2_exactly_once = \"yes\"\n");
  CHECK(errors_of(wrong).rfind("/etc/mqttsn-gw/t.toml:2: store.qos2_exactly_once: ", 0) == 0);
  CHECK(parse("").config.store.downlink_ack_wait == 100ms);
  const auto no_wait = parse("[store]\ndownlink_ack_wait = \"0ms\"\n");
  REQUIRE_MESSAGE(no_wait.ok(), errors_of(no_wait));
  CHECK(no_wait.config.store.downlink_ack_wait == 0ms);
  const auto too_long = parse("[store]\ndownlink_ack_wait = \"1min\"\n");
  CHECK(errors_of(too_long).rfind("/etc/mqttsn-gw/t.toml:2: store.downlink_ack_wait: ", 0) == 0);
}

TEST_CASE("config: relative paths resolve against the configuration file's directory") {
  const auto r = parse(R"([gateway]
predefined_topics_file = "topics.conf"
[access]
clients_file = "../shared/clients"
acl_file = "/srv/acl"
[upstream]
username = "gw"
password_file = "secret/pw"
)");
  REQUIRE_MESSAGE(r.ok(), errors_of(r));
  CHECK(r.config.gateway.predefined_topics_file == "/etc/mqttsn-gw/topics.conf");
  CHECK(r.config.access.clients_file == "/etc/shared/clients");
  CHECK(r.config.access.acl_file == "/srv/acl");
  CHECK(r.config.upstream.password_file == "/etc/mqttsn-gw/secret/pw");
}

TEST_CASE("config: a TOML syntax error names the line") {
  const auto r = parse_config("[gateway]\nid = = 3\n", "t.toml");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].file == "t.toml");
  CHECK(r.errors[0].line == 2);
  CHECK(r.errors[0].to_string().rfind("t.toml:2: not valid TOML: ", 0) == 0);
}

TEST_CASE("config: every error is collected, not just the first") {
  const auto r = parse("[gateway]\nid = -1\nretry_count = 1000\nbogus = 1\n[logging]\npacket_trace = 1\n");
  CHECK(r.errors.size() == 4);
}

TEST_CASE("config: load_config reads a file and reports a missing one") {
  mqttsn::test::TempDir dir{"mqttsn-conf"};
  const auto file = dir.write("gw.toml", "[logging]\nlevel = \"debug\"\n[[link]]\nkind = \"udp\"\n");
  const auto r = load_config(file);
  REQUIRE_MESSAGE(r.ok(), errors_of(r));
  CHECK(r.config.logging.level == mqttsn::log::Level::debug);

  const auto missing = load_config(dir.path() / "nope.toml");
  REQUIRE(missing.errors.size() == 1);
  CHECK(missing.errors[0].to_string() ==
        (dir.path() / "nope.toml").string() + ": cannot read: No such file or directory");
}

TEST_CASE("config: how long a QoS 2 exchange may stay unanswered, from 1 s to 1 h") {
  const auto r = parse("[upstream]\nmax_qos = 2\nqos2_answer_timeout = \"2m\"\n");
  REQUIRE_MESSAGE(r.ok(), errors_of(r));
  CHECK(r.config.upstream.qos2_answer_timeout == 2min);
  CHECK(errors_of(parse("[upstream]\nqos2_answer_timeout = \"500ms\"\n")) ==
        "/etc/mqttsn-gw/t.toml:2: upstream.qos2_answer_timeout: expected a duration from 1s to 1h, got "
        "\"500ms\"\n");
}

TEST_CASE("config: node connections at most, and opened at most so many a second") {
  const auto defaults = parse("");
  REQUIRE_MESSAGE(defaults.ok(), errors_of(defaults));
  CHECK(defaults.config.upstream.max_node_connections == 0);
  CHECK(defaults.config.upstream.node_connect_rate == 0);
  const auto r = parse("[upstream]\nmax_node_connections = 600\nnode_connect_rate = 100\n");
  REQUIRE_MESSAGE(r.ok(), errors_of(r));
  CHECK(r.config.upstream.max_node_connections == 600);
  CHECK(r.config.upstream.node_connect_rate == 100);
  const auto bad = errors_of(parse("[upstream]\nmax_node_connections = -1\nnode_connect_rate = 100001\n"));
  CHECK(bad.find("t.toml:2: upstream.max_node_connections") != std::string::npos);
  CHECK(bad.find("t.toml:3: upstream.node_connect_rate") != std::string::npos);
}
