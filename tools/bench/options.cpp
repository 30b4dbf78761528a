#include "tools/bench/options.hpp"

#include <cstring>

#include "tools/bench/payload.hpp"

namespace mqttsn::bench {

const char* topic_mode_name(TopicMode m) {
  switch (m) {
    case TopicMode::short_name:
      return "short";
    case TopicMode::predefined:
      return "predefined";
    case TopicMode::normal:
      break;
  }
  return "normal";
}

const std::vector<std::string>& preset_names() {
  static const std::vector<std::string> names = {
      "qos0-1client", "qos0-50clients", "qos1-window10", "qos1-50clients", "qos1-latency", "connect-storm",
      "capacity-10k", "idle",           "xbee-200",      "smoke",          "field"};
  return names;
}

bool apply_preset(const std::string& name, Options& o) {
  o.scenario = name;
  if (name == "qos0-1client") {
    o.kind = ScenarioKind::publish, o.qos = 0, o.clients = 1, o.count = 50000, o.rate = 0, o.window = 1;
  } else if (name == "qos0-50clients") {
    o.kind = ScenarioKind::publish, o.qos = 0, o.clients = 50, o.count = 100000, o.rate = 0, o.window = 1;
  } else if (name == "qos1-window10") {
    o.kind = ScenarioKind::publish, o.qos = 1, o.clients = 1, o.window = 10, o.count = 50000, o.rate = 0;
  } else if (name == "qos1-50clients") {
    o.kind = ScenarioKind::publish, o.qos = 1, o.clients = 50, o.window = 10, o.count = 100000, o.rate = 0;
  } else if (name == "qos1-latency") {
    o.kind = ScenarioKind::publish, o.qos = 1, o.clients = 50, o.window = 10, o.count = 50000, o.rate = 5000;
  } else if (name == "connect-storm") {
    o.kind = ScenarioKind::connect_storm, o.clients = 1000, o.topics_per_client = 1, o.sock_buf = 64 << 10;
  } else if (name == "capacity-10k") {
    o.kind = ScenarioKind::idle, o.clients = 10000, o.topics_per_client = 3, o.sock_buf = 16 << 10,
    o.idle_s = 10;
  } else if (name == "idle") {
    o.kind = ScenarioKind::idle, o.clients = 0, o.idle_s = 10;
  } else if (name == "xbee-200") {
    // Needs --xbee-pty (scripts/bench.sh gives the gateway an xbee link on that path). A node keeps one
    // request outstanding, so the window is 1 per node; 200 nodes keep 200 messages in flight.
    o.kind = ScenarioKind::publish, o.qos = 1, o.clients = 200, o.window = 1, o.count = 20000, o.rate = 0;
  } else if (name == "field") {
    // Field rates: 10 nodes at 10 QoS 1 readings/s each (100/s in total, paced), 32 octets, one
    // reading in flight per node, for a minute. What it costs per reading, not how fast it can go:
    // no direct publisher, a longer drain (a broker outage leaves a backlog) and a settle second so
    // the store's work after the last PUBACK falls inside the window.
    o.kind = ScenarioKind::publish, o.qos = 1, o.clients = 10, o.window = 1, o.rate = 100, o.duration_s = 60,
    o.payload = 32, o.direct = false, o.drain_ms = 10000, o.settle_ms = 1000, o.persistent_subscriber = true;
  } else if (name == "smoke") {
    o.kind = ScenarioKind::publish, o.qos = 1, o.clients = 2, o.window = 10, o.count = 1000, o.rate = 0;
  } else {
    return false;
  }
  return true;
}

std::optional<std::string> find_scenario_arg(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--scenario") == 0 && i + 1 < argc) return std::string(argv[i + 1]);
    if (std::strncmp(argv[i], "--scenario=", 11) == 0) return std::string(argv[i] + 11);
  }
  return std::nullopt;
}

std::string bench_topic(const Options& o, const std::string& run_id, int client, int t) {
  if (o.topic_mode == TopicMode::short_name) return o.short_topic;
  if (o.topic_mode == TopicMode::predefined) return o.predefined_topic;
  // Built with append: GCC 12 warns falsely (-Wrestrict) on chains of operator+ with literals.
  std::string s = "bench/";
  s.append(run_id).append("/").append(std::to_string(client));
  if (o.topics_per_client > 1) s.append("/").append(std::to_string(t));
  return s;
}

std::string bench_filter(const Options& o, const std::string& run_id) {
  if (o.topic_mode == TopicMode::normal) return std::string("bench/").append(run_id).append("/#");
  return bench_topic(o, run_id, 0, 0);
}

std::string validate(const Options& o) {
  if (o.qos < -1 || o.qos > 2) return "--qos must be -1, 0, 1 or 2";
  if (o.qos == -1 && o.topic_mode == TopicMode::normal)
    return "QoS -1 needs --topic-mode short or predefined (no session to register a topic in)";
  if (o.payload < static_cast<int>(kMinPayload)) return "--payload must be at least 16 octets";
  if (o.payload > 60000) return "--payload too large for one datagram";
  if (o.clients < 0 || (o.kind != ScenarioKind::idle && o.clients < 1)) return "--clients must be >= 1";
  if (o.window < 1 || o.window > 1000) return "--window must be in 1..1000";
  if (!o.xbee_pty.empty() &&
      (o.window != 1 || o.rate != 0 || o.duration_s != 0 || o.topics_per_client != 1 ||
       o.topic_mode != TopicMode::normal || o.qos < 0 || o.kind != ScenarioKind::publish))
    return "--xbee-pty publishes with window 1, flat out, --count messages, one normal topic per node, QoS "
           "0..2";
  if (o.topics_per_client < 1 || o.topics_per_client > 100) return "--topics must be in 1..100";
  if (o.topic_mode == TopicMode::short_name && o.short_topic.size() != 2)
    return "--short-topic needs 2 characters";
  if (o.retry_ms < 1 || o.max_retries < 0) return "--retry-ms >= 1 and --max-retries >= 0";
  if (o.count == 0 && o.duration_s <= 0 && o.kind == ScenarioKind::publish)
    return "give --count or --duration";
  if (o.broker_outage_s > 0) {
    if (!o.broker.empty()) return "--broker-outage stops and restarts our own mosquitto: drop --broker";
    if (o.kind != ScenarioKind::publish || !o.xbee_pty.empty())
      return "--broker-outage needs a UDP publishing scenario";
    if (o.broker_outage_at_s < 0 && o.duration_s <= 0)
      return "--broker-outage without --broker-outage-at needs --duration (the outage is in its middle)";
  }
  if (o.mosquitto_port < 0 || o.mosquitto_port > 65535) return "--mosquitto-port must be in 0..65535";
  if (o.mosquitto_port != 0 && !o.broker.empty()) return "--mosquitto-port and --broker exclude each other";
  for (const auto& e : o.gateway_env)
    if (e.find('=') == std::string::npos || e.front() == '=') return "--gateway-env takes NAME=VALUE";
  return {};
}

}  // namespace mqttsn::bench
