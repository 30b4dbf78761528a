#pragma once
// N MQTT-SN nodes behind one simulated XBee coordinator on a pseudo-terminal (the gateway opens the
// slave side as its radio's serial port). Each node is the simulator's NodeClient: CONNECT, REGISTER
// one topic, then PUBLISH one message at a time (a real node keeps one request outstanding), with
// DUP retransmission after --retry-ms. One libuv loop drives every node; one timer, not one per node.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tools/bench/options.hpp"
#include "tools/bench/udp_load.hpp"

namespace mqttsn::bench {

class XbeeLoad {
 public:
  XbeeLoad(const Options& o, std::string run_id, const std::atomic<bool>& stop);
  ~XbeeLoad();
  XbeeLoad(const XbeeLoad&) = delete;
  XbeeLoad& operator=(const XbeeLoad&) = delete;

  // Creates the pty and the symlink at --xbee-pty; error text or empty.
  std::string open();
  // Waits for the gateway to open the port, then CONNECT + REGISTER every node.
  ConnectTimes connect_all(double timeout_s);
  void publish(double timeout_s);
  void disconnect_all();

  const LoadCounters& counters() const;
  std::vector<std::uint64_t> take_ack_latencies();
  std::uint64_t first_send_ns() const;
  // Frames the coordinator could not parse and bytes dropped for a full backlog (both should be 0).
  std::uint64_t frame_errors() const;
  std::uint64_t backlog_drops() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mqttsn::bench
