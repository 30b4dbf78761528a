#pragma once
// mqttsn-sim's command line, parsed with CLI11 into one plain struct, plus the two small text
// helpers the runner needs (durations like "500ms"/"10s"/"2m", and `%n` name patterns).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gateway/core/messages.hpp"
#include "gateway/core/outputs.hpp"

namespace mqttsn::sim {

struct SimOptions {
  std::size_t nodes = 1;
  // Transport: the XBee coordinator on a pty (default) or plain UDP to the gateway.
  std::string udp;  // HOST:PORT; empty = XBee pty
  // DTLS 1.2 on the UDP transport: a PSK ("IDENTITY:HEXKEY", %n in the identity = node number) and/or
  // a client certificate; ca verifies the gateway's certificate.
  std::string dtls_psk, dtls_cert, dtls_key, dtls_ca;
  bool dtls() const { return !dtls_psk.empty() || !dtls_cert.empty(); }
  std::string link;  // symlink to the pty slave
  int api = 2;
  bool wait_for_gateway = true;  // pty: start the nodes when the gateway's first frame arrives
  // Node identity and session.
  std::string client_id = "node%n";
  std::uint16_t keep_alive_s = 60;
  bool clean_session = true;
  std::string will_topic;  // pattern; empty = no will
  std::string will_msg = "offline";
  int will_qos = 0;
  bool will_retain = false;
  bool searchgw = false;
  std::uint8_t radius = 0;
  // Publishing.
  std::vector<std::string> topics{"sensors/%n/temperature"};
  std::optional<std::uint16_t> predefined_id;  // publish on this predefined id instead of topics
  std::string short_topic;                     // or on this 2-character short name
  int qos = 1;
  bool retain = false;
  Millis period{5000};
  std::uint64_t count = 0;  // per node; 0 = no limit
  Millis duration{0};       // 0 = until --count is reached or Ctrl-C
  // Readings a checker can match: "<client id> <run> <seq>" instead of a temperature, where <run>
  // tells this process's readings from those of an earlier one with the same client ids.
  bool tagged = false;
  std::string ack_log;  // append "<topic> <payload>" per acknowledged QoS 1/2 reading
  // Commands from the gateway.
  std::string subscribe;  // pattern, e.g. cmd/%n/#
  int sub_qos = 1;
  // Sleep cycle.
  Millis sleep{0};  // DISCONNECT duration; 0 = never sleeps
  Millis awake_every{0};
  // Protocol timers.
  Millis t_retry{10000};
  int n_retry = 3;
  bool verbose = false;
};

// Returns nullopt and fills `error` on bad input. Exits for --help / --version like CLI11 apps.
std::optional<SimOptions> parse_options(int argc, char** argv, int& exit_code);

// "250ms", "10s", "2m", "1h", or a plain number of seconds.
std::optional<Millis> parse_duration(const std::string& text);

// Replaces %n with the node number (1-based) and %% with %.
std::string expand_pattern(const std::string& pattern, std::size_t number);

}  // namespace mqttsn::sim
