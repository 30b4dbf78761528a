#pragma once
// The limit: the same messages published straight to the broker by one plain Paho MQTTAsync client
// (the library the gateway uses upstream), same QoS, same total in-flight count (clients x window).
// It runs in a child process (`mqttsn-bench --direct-child ...`) so that its CPU time is its own and
// not mixed with the subscriber's Paho threads; it prints one JSON object on stdout.
#include <nlohmann/json.hpp>

#include <atomic>
#include <string>

#include "tools/bench/options.hpp"

namespace mqttsn::bench {

// Body of the child: publishes and returns the JSON report (fields: published, acked, failed,
// cpu_us, elapsed_ns, first_send_ns, last_send_ns, hwm_kb, ack_latency{...}, error).
nlohmann::json run_direct_publisher(const Options& o, const std::string& run_id,
                                    const std::atomic<bool>& stop);

}  // namespace mqttsn::bench
