#include "tools/sim/sim_options.hpp"

#include <CLI/CLI.hpp>
#include <cctype>
#include <cstdlib>

namespace mqttsn::sim {

std::optional<Millis> parse_duration(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || v < 0) return std::nullopt;
  const std::string unit(end);
  double ms = 0;
  if (unit.empty() || unit == "s") {
    ms = v * 1000;
  } else if (unit == "ms") {
    ms = v;
  } else if (unit == "m" || unit == "min") {
    ms = v * 60000;
  } else if (unit == "h") {
    ms = v * 3600000;
  } else {
    return std::nullopt;
  }
  return Millis(static_cast<std::int64_t>(ms));
}

std::string expand_pattern(const std::string& pattern, std::size_t number) {
  std::string out;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '%' && i + 1 < pattern.size()) {
      if (pattern[i + 1] == 'n') {
        out += std::to_string(number);
        ++i;
        continue;
      }
      if (pattern[i + 1] == '%') {
        out += '%';
        ++i;
        continue;
      }
    }
    out += pattern[i];
  }
  return out;
}

std::optional<SimOptions> parse_options(int argc, char** argv, int& exit_code) {
  SimOptions o;
  CLI::App app{
      "mqttsn-sim: simulated MQTT-SN 1.2 sensor nodes behind an XBee coordinator on a pseudo-terminal, "
      "or over UDP"};
  app.set_version_flag("--version", "mqttsn-sim 0.1.0");
  std::string period = "5s", duration = "0", sleep = "0", awake = "0", t_retry = "10s";
  int radius = 0;
  int predefined = -1;

  app.add_option("-n,--nodes", o.nodes, "number of simulated nodes")->check(CLI::Range(1, 65000));
  auto* udp = app.add_option("--udp", o.udp,
                             "speak MQTT-SN over UDP to the gateway at HOST:PORT (one socket per node)");
  app.add_option("--dtls-psk", o.dtls_psk,
                 "UDP over DTLS 1.2 with this PSK: IDENTITY:HEXKEY (%n = node number)")
      ->needs(udp);
  app.add_option("--dtls-cert", o.dtls_cert, "UDP over DTLS 1.2 with this client certificate (PEM)")
      ->needs(udp);
  app.add_option("--dtls-key", o.dtls_key, "the client certificate's key (PEM)");
  app.add_option("--dtls-ca", o.dtls_ca, "verify the gateway's DTLS certificate against this CA (PEM)");
  app.add_option("--link", o.link,
                 "pty mode: create a symlink PATH to the pseudo-terminal (replaced if present)")
      ->excludes(udp);
  app.add_option("--api", o.api, "pty mode: XBee API mode, 1 (raw) or 2 (escaped)")
      ->check(CLI::IsMember({1, 2}));
  app.add_flag("!--no-wait-gateway", o.wait_for_gateway,
               "pty mode: start the nodes at once instead of on the gateway's first frame");
  app.add_option("--client-id", o.client_id, "client id pattern (%n = node number)")->capture_default_str();
  app.add_option("--keep-alive", o.keep_alive_s, "keep-alive in seconds (0 = off)")->capture_default_str();
  app.add_flag("!--persistent", o.clean_session, "connect with CleanSession=0");
  app.add_option("--will-topic", o.will_topic, "will topic pattern (enables the will)");
  app.add_option("--will-msg", o.will_msg, "will message pattern")->capture_default_str();
  app.add_option("--will-qos", o.will_qos, "will QoS")->check(CLI::Range(0, 2));
  app.add_flag("--will-retain", o.will_retain, "will retain flag");
  app.add_flag("--searchgw", o.searchgw, "send SEARCHGW and wait for GWINFO before connecting");
  app.add_option("--radius", radius, "SEARCHGW radius")->check(CLI::Range(0, 255));
  app.add_option("-t,--topic", o.topics, "topic pattern(s) to publish on, in turn")->capture_default_str();
  app.add_option("--predefined-id", predefined, "publish on this predefined topic id instead")
      ->check(CLI::Range(1, 0xFFFE));
  app.add_option("--short-topic", o.short_topic, "publish on this 2-character short topic name instead");
  app.add_option("-q,--qos", o.qos, "publish QoS: -1 (needs --predefined-id or --short-topic), 0, 1, 2")
      ->check(CLI::Range(-1, 2))
      ->capture_default_str();
  app.add_flag("--retain", o.retain, "publish with the retain flag");
  app.add_option("-p,--period", period, "time between readings per node (e.g. 500ms, 5s)")
      ->capture_default_str();
  app.add_option("-c,--count", o.count, "readings per node, then disconnect and exit (0 = no limit)");
  app.add_flag(
      "--tagged", o.tagged,
      "payload '<client id> <run> <seq>' instead of a temperature (<run>: process id and start time)");
  app.add_option("--ack-log", o.ack_log,
                 "append '<topic> <payload>' for every acknowledged QoS 1/2 reading to this file");
  app.add_option("-d,--duration", duration, "run length (e.g. 30s, 5m; 0 = until --count or Ctrl-C)");
  app.add_option("-s,--subscribe", o.subscribe, "command topic pattern to subscribe to (e.g. cmd/%n/#)");
  app.add_option("--sub-qos", o.sub_qos, "QoS requested for --subscribe")->check(CLI::Range(0, 2));
  app.add_option("--sleep", sleep, "sleep between readings: DISCONNECT with this duration (e.g. 60s)");
  app.add_option("--awake-every", awake, "while asleep, wake (PINGREQ) this often to collect messages");
  app.add_option("--t-retry", t_retry, "retransmission timeout T_RETRY")->capture_default_str();
  app.add_option("--n-retry", o.n_retry, "retransmissions before a request fails (N_RETRY)")
      ->check(CLI::Range(0, 20))
      ->capture_default_str();
  app.add_flag("-v,--verbose", o.verbose, "print every packet");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    exit_code = app.exit(e);
    return std::nullopt;
  }
  auto fail = [&](const std::string& msg) -> std::optional<SimOptions> {
    std::fprintf(stderr, "mqttsn-sim: %s\n", msg.c_str());
    exit_code = 2;
    return std::nullopt;
  };
  for (auto [text, target, name] :
       {std::tuple{&period, &o.period, "--period"}, std::tuple{&duration, &o.duration, "--duration"},
        std::tuple{&sleep, &o.sleep, "--sleep"}, std::tuple{&awake, &o.awake_every, "--awake-every"},
        std::tuple{&t_retry, &o.t_retry, "--t-retry"}}) {
    auto d = parse_duration(*text);
    if (!d) return fail(std::string("bad duration for ") + name + ": '" + *text + "'");
    *target = *d;
  }
  if (o.period.count() <= 0) return fail("--period must be above 0");
  if (o.t_retry.count() <= 0) return fail("--t-retry must be above 0");
  o.radius = static_cast<std::uint8_t>(radius);
  if (predefined > 0) o.predefined_id = static_cast<std::uint16_t>(predefined);
  if (!o.short_topic.empty() && o.short_topic.size() != 2)
    return fail("--short-topic takes exactly 2 characters");
  if (o.qos < 0 && !o.predefined_id && o.short_topic.empty())
    return fail("QoS -1 needs --predefined-id or --short-topic");
  if (o.topics.empty()) return fail("at least one --topic is needed");
  if (o.sleep.count() > 0) {
    if (o.sleep > Millis(65535000)) return fail("--sleep is at most 65535 s");
    if (o.sleep < Millis(1000)) return fail("--sleep is at least 1 s (DISCONNECT carries seconds)");
    if (o.qos < 0) return fail("--sleep needs a connection: use QoS 0, 1 or 2");
    if (o.awake_every.count() <= 0) o.awake_every = o.sleep / 2;
    if (o.awake_every >= o.sleep)
      return fail("--awake-every must be shorter than --sleep (or the gateway loses us)");
  }
  return o;
}

}  // namespace mqttsn::sim
