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
};

class Subscriber {
 public:
  // broker: "host:port".
  Subscriber(const std::string& broker, const std::string& client_id);
  ~Subscriber();
  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;

  // Connects and subscribes every filter at `qos`; error text or empty.
  std::string start(const std::vector<std::string>& filters, int qos, double timeout_s);
  // Forgets everything counted so far (between phases).
  void reset();
  SubscriberStats stats() const;
  std::vector<std::uint64_t> take_latencies();
  // Returns when `expected` unique messages arrived, or nothing new came for drain_ms, or timeout.
  void wait_for(std::uint64_t expected, int drain_ms, double timeout_s,
                const std::atomic<bool>* stop = nullptr) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mqttsn::bench
