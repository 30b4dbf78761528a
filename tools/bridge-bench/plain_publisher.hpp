#pragma once
// The reference: a plain Paho MQTTAsync publisher, written the way a careful application would
// (a bounded number of QoS 1 messages in flight, callbacks on Paho's threads, no event loop).
#include <chrono>
#include <string>

namespace mqttsn::bench {

struct RunSpec {
  std::string uri;
  std::string topic;
  int qos = 0;
  int messages = 0;
  int payload_size = 32;
  int window = 4096;  // QoS 1 messages in flight at most
};

// Returns the seconds from the first send until the broker has everything: for QoS 1 the last PUBACK,
// for QoS 0 the PUBACK of a QoS 1 marker sent after the last message (TCP and the broker keep order).
// Negative on failure.
double run_plain(const RunSpec& spec);

std::string bench_payload(int i, int size);

}  // namespace mqttsn::bench
