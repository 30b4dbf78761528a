#pragma once
// The gateway.toml the end-to-end tests hand to GatewayProcess: only what a test varies, with
// short timers so a lost node or a broker restart shows up in seconds, not minutes.
#include <cstdint>
#include <string>
#include <vector>

#include "support/paho_test_client.hpp"

namespace mqttsn::e2e {

struct GatewayToml {
  std::string broker_uri{};                 // required
  std::vector<std::string> more_servers{};  // [upstream] servers after broker_uri (a cluster)
  int gateway_id = 7;
  std::uint16_t udp_port = 0;            // 0: no UDP link
  std::string xbee_device{};             // "": no XBee link
  int xbee_api_mode = 2;                 // 1 or 2
  int xbee_mtu = 255;                    // [[link]] mtu: largest MQTT-SN datagram in one RF frame
  std::string predefined_topics_file{};  // relative to the config's directory; "": none
  std::string retry_interval = "1s";     // T_RETRY towards the nodes
  int retry_count = 3;                   // N_RETRY
  std::string session_expiry = "7d";     // a kept session whose node is away is removed after this
  std::string presence_topic{};          // "": none
  std::string upstream_client_id = "e2e-gw-%g";
  bool allow_anonymous = true;
  std::string clients_file{};  // "": none
  std::string acl_file{};      // "": everything allowed
  std::string shutdown_grace = "2s";
  std::string reconnect_min = "200ms";
  std::string reconnect_max = "1s";
  bool store = true;          // the SQLite store, in the test's own directory
  std::string store_extra{};  // more [store] keys, verbatim
  bool upstream_clean_session = false;
  std::string upstream_extra{};  // more [upstream] keys, verbatim
  std::string extra{};           // appended verbatim (whole sections)

  std::string to_toml() const;
};

// Options for a plain Paho test client on `uri`.
test::TestClientOptions paho_options(std::string uri, std::string client_id, bool clean_session = true);

// The last `n` characters of a log, for failure messages.
std::string tail(const std::string& text, std::size_t n);

}  // namespace mqttsn::e2e
