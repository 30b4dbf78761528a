#pragma once
// Configuration of the gateway core: identity, timers and the limits that bound its memory. Every
// field has a field-usable default so a test or a minimal daemon can start with GatewayOptions{}.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "outputs.hpp"

namespace mqttsn {

struct GatewayLimits {
  std::size_t max_clients = 10000;            // sessions kept (connected, sleeping or persistent)
  std::size_t topic_ids_per_client = 64;      // normal topic ids in one client's registry
  std::size_t subscriptions_per_client = 32;  // filters one client may hold (granted + pending)
  // Downlink messages buffered for one client (asleep, away with a kept session, or waiting for a
  // free in-flight slot), in messages and in topic + payload octets, and for all clients together.
  // A node that sleeps an hour behind a configuration topic needs hundreds; the octet bounds are what
  // keeps a Raspberry Pi's memory (and the store) bounded: 64 KiB x 256 nodes = the 16 MiB total.
  std::size_t buffered_per_client = 1000;
  std::size_t buffered_bytes_per_client = 64 * 1024;
  std::size_t buffered_bytes_total = 16 * 1024 * 1024;
  std::size_t in_flight_per_client = 1;  // GW -> client QoS 1/2 PUBLISH + REGISTER outstanding
  // Client -> GW QoS 1/2 awaiting the broker / PUBREL. A node that stored readings through a sleep
  // or a radio outage sends them back to back; with 4, the 5th got PUBACK "congestion" and waited a
  // retry interval. An entry lives only until the broker's PUBACK (~1 ms), so 16 costs no idle memory.
  std::size_t uplink_in_flight_per_client = 16;
  std::size_t max_payload = 65000;            // PUBLISH data and will message octets
  std::size_t max_downlink_datagram = 65535;  // larger GW -> client messages are dropped (spec 6.10)
  // Largest datagram each link carries, indexed by LinkAddress::link (an XBee frame holds far less
  // than a UDP datagram). A link without an entry is bounded by max_downlink_datagram alone. Knowing
  // it here lets the core drop an undeliverable message once, instead of sending it, having the
  // link refuse it, and retrying until the healthy node is declared lost.
  std::vector<std::size_t> link_max_datagram;
};

struct GatewayOptions {
  std::uint8_t gw_id = 1;
  std::uint16_t advertise_period_s = 900;  // T_ADV; 0 = never advertise
  // Spec 4.2: ADVERTISE only while the broker connection is up. The same rule gates GWINFO answers:
  // a gateway without a broker should not attract nodes away from one that has it.
  bool advertise_only_when_upstream_connected = true;
  Millis retry_interval{10000};  // T_RETRY
  unsigned max_retries = 3;      // N_RETRY
  double keepalive_tolerance = 1.5;
  // A kept session whose node disconnected or was lost is removed this long after it went away
  // (a sleeping node: after its sleep timer made it lost). 0 = never (keepalive.cpp).
  Millis session_expiry{std::chrono::hours(7 * 24)};
  QoS max_granted_qos = 2;
  // Each node its own upstream connection (Outputs::node_connect() and the calls after it) instead of
  // the shared one: CONNACK waits for the broker, subscriptions and their messages are the node's.
  bool upstream_per_node = false;
  GatewayLimits limits;
};

// A configured topic id. Without client_id the id is global; with it, only that client sees it (and
// it shadows a global id with the same number for that client).
struct PredefinedTopic {
  std::uint16_t id = 0;
  std::string topic;
  std::optional<std::string> client_id;
};
using PredefinedTopics = std::vector<PredefinedTopic>;

}  // namespace mqttsn
