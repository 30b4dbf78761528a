// mqttsn-bench: load generator and meter for the MQTT-SN gateway, with the direct Paho publisher as
// the limit in the same run. See tools/bench/README.md for the scenarios and the figures it reports.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>

#include "tools/bench/direct_publisher.hpp"
#include "tools/bench/options.hpp"
#include "tools/bench/payload.hpp"
#include "tools/bench/report.hpp"
#include "tools/bench/scenario.hpp"
#include "tools/bench/self_test.hpp"

namespace {

std::atomic<bool> g_stop{false};

void on_signal(int) {
  g_stop = true;
}

void install_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

// 10,000 clients need 10,000 sockets: take the hard limit.
void raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

bool has_error(const nlohmann::json& r) {
  for (const char* phase : {"gateway", "direct"})
    if (r.contains(phase) && r[phase].is_object() && r[phase].contains("error")) return true;
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace mqttsn::bench;
  Options o;
  if (const auto name = find_scenario_arg(argc, argv); name && !apply_preset(*name, o)) {
    std::fprintf(stderr, "unknown scenario '%s'%s\n", name->c_str(),
                 *name == "xbee-200" ? " (the XBee pty path is not implemented in this version)" : "");
    return 2;
  }

  CLI::App app{"mqttsn-bench: MQTT-SN load generator, measured against a direct Paho publisher"};
  std::string scenario_unused;
  bool self_test = false, markdown_header_only = false, no_direct = false, with_direct = false,
       direct_nagle = false;
  std::string commit, field_table_in, baseline = "store-off";
  const std::map<std::string, TopicMode> modes = {
      {"normal", TopicMode::normal}, {"short", TopicMode::short_name}, {"predefined", TopicMode::predefined}};
  std::string preset_help = "named preset:";
  for (const auto& n : preset_names()) preset_help += " " + n;
  app.add_option("--scenario", scenario_unused, preset_help + " (other options override it)");
  app.add_flag("--self-test", self_test, "check percentiles and payload layout, then exit");
  app.add_option("--gateway", o.gateway, "the gateway's UDP address host:port")->capture_default_str();
  app.add_option("--dtls-psk", o.dtls_psk,
                 "DTLS 1.2 to the gateway with this PSK: IDENTITY:HEXKEY (%n = client)");
  app.add_option("--dtls-cert", o.dtls_cert, "DTLS 1.2 to the gateway with this client certificate (PEM)");
  app.add_option("--dtls-key", o.dtls_key, "the client certificate's key (PEM)");
  app.add_option("--dtls-ca", o.dtls_ca, "verify the gateway's DTLS certificate against this CA");
  app.add_option("--probe-gateway", o.probe_gateway,
                 "probe readiness through this plain UDP link of the gateway (default: --gateway; the probe "
                 "speaks no DTLS)");
  app.add_option("--broker", o.broker, "MQTT broker host:port (default: start a mosquitto on a free port)");
  app.add_option("--mosquitto", o.mosquitto_bin, "mosquitto binary")->capture_default_str();
  app.add_option(
      "--mosquitto-line", o.mosquitto_lines,
      "a line for the started mosquitto's configuration (repeatable), e.g. \"set_tcp_nodelay true\"");
  app.add_option("--gateway-cmd", o.gateway_cmd, "start the gateway with this command line");
  app.add_option("--gateway-config", o.gateway_config, "append --config FILE to --gateway-cmd");
  app.add_option("--gateway-pid", o.gateway_pid, "a running gateway, for /proc readings");
  app.add_option("--gateway-wait", o.gateway_wait_s, "seconds to wait for the gateway's first CONNACK")
      ->capture_default_str();
  app.add_option("--gateway-env", o.gateway_env,
                 "NAME=VALUE for the environment of the gateway --gateway-cmd starts (repeatable)");
  app.add_option("--status-socket", o.status_socket,
                 "the gateway's status socket, for its store counters (default: from --gateway-config)");
  app.add_option("--mosquitto-port", o.mosquitto_port, "port of our own mosquitto (default: a free one)");
  app.add_option("--xbee-pty", o.xbee_pty,
                 "nodes behind a simulated XBee coordinator on a pty linked here (the gateway's xbee device) "
                 "instead of UDP; one message in flight per node");
  app.add_option("--clients", o.clients, "number of MQTT-SN clients")->capture_default_str();
  app.add_option("--topics", o.topics_per_client, "topics registered per client")->capture_default_str();
  app.add_option("--qos", o.qos, "-1, 0, 1 or 2")->capture_default_str();
  app.add_option("--topic-mode", o.topic_mode, "normal (REGISTER), short or predefined")
      ->transform(CLI::CheckedTransformer(modes, CLI::ignore_case));
  app.add_option("--predefined-id", o.predefined_id, "topic id for --topic-mode predefined")
      ->capture_default_str();
  app.add_option("--predefined-topic", o.predefined_topic, "the topic name the gateway maps that id to")
      ->capture_default_str();
  app.add_option("--short-topic", o.short_topic, "2-character topic for --topic-mode short")
      ->capture_default_str();
  app.add_option("--window", o.window, "in-flight messages per client (QoS 1/2)")->capture_default_str();
  app.add_option("--count", o.count, "messages in total")->capture_default_str();
  app.add_option("--duration", o.duration_s, "publish for this many seconds instead of --count");
  app.add_option("--rate", o.rate, "messages/s in total, 0 = flat out")->capture_default_str();
  app.add_option("--payload", o.payload, "payload octets (>= 16)")->capture_default_str();
  app.add_option("--retry-ms", o.retry_ms, "retransmission timeout")->capture_default_str();
  app.add_option("--max-retries", o.max_retries, "retransmissions before giving a message up")
      ->capture_default_str();
  app.add_option("--keepalive", o.keepalive_s, "CONNECT duration, seconds")->capture_default_str();
  app.add_option("--sock-buf", o.sock_buf, "SO_SNDBUF/SO_RCVBUF per client socket, octets")
      ->capture_default_str();
  app.add_option("--idle", o.idle_s, "idle scenarios: seconds measured")->capture_default_str();
  app.add_option("--drain-ms", o.drain_ms, "stop waiting for deliveries after this long without one")
      ->capture_default_str();
  app.add_option("--timeout", o.timeout_s, "hard limit per phase, seconds")->capture_default_str();
  app.add_option("--settle-ms", o.settle_ms, "after the deliveries, wait this long before the last readings")
      ->capture_default_str();
  app.add_flag("--persistent-subscriber", o.persistent_subscriber,
               "subscriber with clean session false that reconnects and subscribes again by itself");
  app.add_option("--broker-outage", o.broker_outage_s,
                 "stop our own mosquitto (SIGTERM) for this many seconds during the publishing, then start "
                 "it again on the same port (persistence on)");
  app.add_option("--broker-outage-at", o.broker_outage_at_s,
                 "seconds into the publishing when the outage begins (default: centred in --duration)");
  app.add_flag("--strace-syncs", o.strace_syncs,
               "count the gateway's fsync/fdatasync with strace attached for the window (slows the gateway)");
  app.add_option("--strace", o.strace_bin, "strace binary")->capture_default_str();
  app.add_flag("--no-direct", no_direct, "skip the direct Paho publisher (no ratios)");
  app.add_flag("--direct", with_direct, "run the direct Paho publisher even where the preset does not");
  app.add_flag("--direct-nagle", direct_nagle, "leave Nagle on in the direct publisher (Paho's default)");
  app.add_option("--run-id", o.run_id, "topic prefix bench/<run>/ (default: from time and pid)");
  app.add_option("--json-out", o.json_out, "append one JSON line per scenario to this file");
  app.add_option("--markdown-out", o.markdown_out, "append one results-table row per scenario to this file");
  app.add_flag("--markdown-header", markdown_header_only, "print the results table's header and exit");
  app.add_option("--gateway-log", o.gateway_log,
                 "where a gateway started with --gateway-cmd writes its output");
  app.add_option("--commit", commit, "recorded in the JSON line (scripts/bench.sh passes git's)");
  app.add_option("--label", o.label, "the variant's name, recorded in the JSON line as \"variant\"");
  app.add_option("--field-table", field_table_in,
                 "print the markdown table of the field runs in this JSON lines file, then exit");
  app.add_option("--baseline", baseline, "--field-table: the variant CPU per reading is compared with")
      ->capture_default_str();
  app.add_flag("--quiet", o.quiet, "no human summary");
  app.add_flag("--direct-child", o.direct_child)
      ->group("");  // internal: this process is the direct publisher
  CLI11_PARSE(app, argc, argv);
  o.direct = with_direct || (o.direct && !no_direct);
  o.direct_nodelay = !direct_nagle;

  if (markdown_header_only) {
    std::fputs(markdown_header().c_str(), stdout);
    return 0;
  }
  if (self_test) return run_self_test(stdout) == 0 ? 0 : 1;
  if (!field_table_in.empty()) {
    std::ifstream in(field_table_in);
    if (!in) {
      std::fprintf(stderr, "mqttsn-bench: cannot read %s\n", field_table_in.c_str());
      return 2;
    }
    std::vector<nlohmann::json> reports;
    for (std::string line; std::getline(in, line);) {
      auto r = nlohmann::json::parse(line, nullptr, false);
      if (!r.is_discarded() && r.is_object()) reports.push_back(std::move(r));
    }
    std::fputs(field_table(reports, baseline).c_str(), stdout);
    return 0;
  }
  if (o.run_id.empty()) o.run_id = std::to_string(now_ns() % 100000000) + "p" + std::to_string(getpid());
  if (const auto err = validate(o); !err.empty()) {
    std::fprintf(stderr, "mqttsn-bench: %s\n", err.c_str());
    return 2;
  }
  install_signals();
  if (o.direct_child) {
    std::cout << run_direct_publisher(o, o.run_id, g_stop).dump() << std::endl;
    return 0;
  }
  raise_fd_limit();

  Environment env;
  if (const auto err = prepare_environment(o, env); !err.empty()) {
    std::fprintf(stderr, "mqttsn-bench: %s\n", err.c_str());
    return 2;
  }
  auto report = run_scenario(o, env, g_stop);
  report["date"] = utc_timestamp();
  report["machine"] = machine_json();
  report["run_id"] = o.run_id;
  if (!o.label.empty()) report["variant"] = o.label;
  if (!commit.empty()) report["commit"] = commit;
  if (!o.quiet) print_summary(report, stdout);
  if (!o.json_out.empty()) {
    std::ofstream f(o.json_out, std::ios::app);
    f << report.dump() << "\n";
    if (!f) std::fprintf(stderr, "mqttsn-bench: cannot append to %s\n", o.json_out.c_str());
  }
  if (!o.markdown_out.empty()) {
    std::ofstream f(o.markdown_out, std::ios::app);
    f << markdown_row(report);
    if (!f) std::fprintf(stderr, "mqttsn-bench: cannot append to %s\n", o.markdown_out.c_str());
  }
  return g_stop ? 130 : has_error(report) ? 1 : 0;
}
