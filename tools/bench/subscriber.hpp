#pragma once
// The broker-side meter: a Paho MQTTAsync subscriber that counts unique (client, seq) pairs, the
// duplicates, and the end-to-end latency from the send timestamp in each payload.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mqttsn::bench {

struct SubscriberStats {
  std::uint64_t unique = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t malformed = 0;  // payload shorter than the bench header
  std::uint64_t first_rx_ns = 0, last_rx_ns = 0;
  bool connection_lost = false;
  std::uint64_t connection_losses = 0;
  std::uint64_t reconnects = 0;  // automatic reconnections (persistent mode), each subscribed again
};

class Subscriber {
 public:
  // broker: "host:port".
  Subscriber(const std::string& broker, const std::string& client_id);
  ~Subscriber();
  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;

  // Connects and subscribes every filter at `qos`; error text or empty. persistent: clean session
  // false under this client id (the broker queues QoS 1/2 messages while we are away), and Paho
  // reconnects on its own (every 1-2 s) after a lost connection and subscribes again.
  std::string start(const std::vector<std::string>& filters, int qos, double timeout_s,
                    bool persistent = false);
  // Forgets everything counted so far (between phases).
  void reset();
  SubscriberStats stats() const;
  std::vector<std::uint64_t> take_latencies();
  // How many of these (client << 32 | seq) keys never arrived.
  std::uint64_t count_missing(const std::vector<std::uint64_t>& keys) const;
  // Returns when `expected` unique messages arrived, or nothing new came for drain_ms, or timeout.
  void wait_for(std::uint64_t expected, int drain_ms, double timeout_s,
                const std::atomic<bool>* stop = nullptr) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mqttsn::bench
