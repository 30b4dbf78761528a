#pragma once
// Every knob of mqttsn-bench, and the named scenarios as presets over them.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mqttsn::bench {

enum class ScenarioKind { publish, connect_storm, idle };
enum class TopicMode { normal, short_name, predefined };

struct Options {
  std::string scenario = "custom";
  ScenarioKind kind = ScenarioKind::publish;

  // Where things are.
  std::string gateway = "127.0.0.1:10000";  // the gateway's UDP link
  // DTLS on that link: "IDENTITY:HEXKEY" (%n = client number) and/or a client certificate + key.
  std::string dtls_psk, dtls_cert, dtls_key, dtls_ca;
  std::string probe_gateway;  // a plain UDP link of the same gateway for the readiness probe; "": --gateway
  std::string broker;         // host:port; empty: start our own mosquitto
  std::string mosquitto_bin = "/usr/sbin/mosquitto";
  std::vector<std::string> mosquitto_lines;  // more lines for the started mosquitto's configuration
  std::string gateway_cmd;                   // started by the bench when set
  std::string gateway_config;                // appended to gateway_cmd as --config FILE
  int gateway_pid = 0;                       // attach to a running gateway for /proc readings
  double gateway_wait_s = 10;                // how long to wait for a first CONNACK
  // Non-empty: the publishing clients are nodes behind a simulated XBee coordinator on a pty, linked
  // at this path (the gateway's xbee link device); --gateway still names a UDP link for the probe.
  std::string xbee_pty;
  // Environment variables (NAME=VALUE) for a gateway the bench starts, on top of the bench's own.
  std::vector<std::string> gateway_env;
  // The gateway's status socket, for its `store` counters; empty: from --gateway-config, if given.
  std::string status_socket;
  // Our own mosquitto listens here (0: any free port); a script that writes the gateway's config
  // first chooses the port.
  int mosquitto_port = 0;

  // The load.
  int clients = 1;
  int topics_per_client = 1;
  int qos = 1;  // -1, 0, 1, 2
  TopicMode topic_mode = TopicMode::normal;
  std::uint16_t predefined_id = 1;
  std::string predefined_topic = "bench/predefined";  // the name the gateway maps predefined_id to
  std::string short_topic = "bx";
  int window = 1;               // in-flight messages per client (QoS 1/2)
  std::uint64_t count = 10000;  // total messages (all clients)
  double duration_s = 0;        // > 0: publish for this long instead of `count`
  double rate = 0;              // msgs/s in total; 0: flat out
  int payload = 32;             // octets, >= 16
  int retry_ms = 1000;          // retransmission timeout (DUP)
  int max_retries = 5;
  int keepalive_s = 600;
  int sock_buf = 1 << 20;  // SO_SNDBUF / SO_RCVBUF per client socket
  double idle_s = 10;      // idle scenarios: measuring window
  int drain_ms = 3000;     // wait this long without news before counting losses
  double timeout_s = 300;  // hard stop for a phase
  int settle_ms = 0;       // after the deliveries, wait this long before the last /proc reading
  // The subscriber keeps its session on the broker (clean session false, fixed client id) and
  // reconnects on its own, subscribing again: it keeps counting across a broker restart.
  bool persistent_subscriber = false;
  // > 0: stop our own mosquitto (SIGTERM) this many seconds into the publishing, for
  // broker_outage_s, then start it again on the same port with the same configuration (persistence
  // on, so the subscriber's session survives). broker_outage_at_s < 0: in the middle of --duration.
  double broker_outage_s = 0;
  double broker_outage_at_s = -1;
  // Count the gateway's fsync/fdatasync calls with strace attached for the measuring window.
  bool strace_syncs = false;
  std::string strace_bin = "strace";

  // What to run and where to write.
  bool direct = true;          // also run the direct Paho publisher (the limit)
  bool direct_nodelay = true;  // set TCP_NODELAY on the direct publisher's socket
  std::string run_id;          // default: derived from time and pid
  std::string markdown_out;    // append one results-table row per scenario
  std::string gateway_log;     // stdout+stderr of a gateway the bench starts
  std::string json_out;        // append one JSON line per scenario
  std::string label;           // the variant's name in a side-by-side run (JSON "variant")
  bool quiet = false;

  // Hidden: this process is the direct publisher child.
  bool direct_child = false;
};

// "normal", "short", "predefined" (as --topic-mode spells them).
const char* topic_mode_name(TopicMode m);

// Names of the presets, in the order the standard run uses.
const std::vector<std::string>& preset_names();

// Applies a preset to `o` (before the command line overrides it). False for an unknown name.
bool apply_preset(const std::string& name, Options& o);

// The value of --scenario in argv (either "--scenario X" or "--scenario=X"), if any.
std::optional<std::string> find_scenario_arg(int argc, char** argv);

// The MQTT topic that messages of client i, topic t reach: bench/<run>/<client>[/<t>], or the one
// short / predefined topic name in those modes.
std::string bench_topic(const Options& o, const std::string& run_id, int client, int t);

// The subscriber's filter for a run.
std::string bench_filter(const Options& o, const std::string& run_id);

// Checks option combinations; returns an error message or an empty string.
std::string validate(const Options& o);

}  // namespace mqttsn::bench
