#pragma once
// One scenario end to end: the gateway phase (MQTT-SN clients over UDP -> gateway -> broker ->
// subscriber), then the direct phase (Paho publisher child -> broker -> subscriber), and the report
// as one JSON object with the ratios gateway / direct.
#include <nlohmann/json.hpp>

#include <atomic>
#include <memory>
#include <string>

#include "tools/bench/options.hpp"
#include "tools/bench/processes.hpp"

namespace mqttsn::bench {

// The broker and gateway a run talks to, and what the bench started itself (stopped on destruction).
struct Environment {
  std::string broker;  // host:port
  pid_t gateway_pid = 0;
  std::string gateway_error;  // set when the gateway does not answer CONNECT
  std::string dir;            // scratch directory (mosquitto.conf, gateway.log)
  std::string status_socket;  // the gateway's, when known (--status-socket or its config)
  std::string status_error;   // why it is not known although a config was given
  bool keep_dir = false;      // the gateway failed: its log stays for the reader
  Child mosquitto;
  Child gateway;
  ~Environment();
};

// Starts (or finds) the broker and the gateway; error text (broker trouble) or empty. A gateway that
// does not answer CONNECT is noted in env.gateway_error: its phase then reports that error, and the
// direct phase still runs.
std::string prepare_environment(const Options& o, Environment& env);

// Sends CONNECT from a throw-away client until a CONNACK comes back; with a broker, then QoS 0
// PUBLISHes until one reaches a subscriber there. True when the gateway answers (and forwards).
bool probe_gateway(const std::string& gateway, double timeout_s, const std::string& broker = {});

nlohmann::json run_scenario(const Options& o, Environment& env, const std::atomic<bool>& stop);

}  // namespace mqttsn::bench
