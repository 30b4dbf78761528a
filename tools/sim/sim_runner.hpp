#pragma once
// mqttsn-sim's engine: N NodeClients, one transport (XBee pty or UDP), one libuv loop, one timer.
// Each node follows a small script (search, connect, subscribe, register, publish every period,
// optionally sleep and wake) and every event it reports is counted for the final summary.
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <uv.h>

#include "tools/sim/node_client.hpp"
#include "tools/sim/node_transport.hpp"
#include "tools/sim/sim_options.hpp"

namespace mqttsn::sim {

struct SimTotals {
  std::uint64_t published = 0;  // publish requests made
  std::uint64_t acked = 0;      // completed: QoS 1/2 acknowledged, QoS 0/-1 sent
  std::uint64_t received = 0;   // PUBLISHes from the gateway
  std::uint64_t failures = 0;
};

class SimRunner {
 public:
  explicit SimRunner(SimOptions opts);
  ~SimRunner();
  // Runs until done (count reached, duration over, or SIGINT/SIGTERM), prints the summary line and
  // returns the exit code: 0 only with no failure and every publish acknowledged.
  int run();

 private:
  struct Node;
  enum class Phase : std::uint8_t { idle, starting, running, sleeping, finishing, done };

  bool open_transport();
  void start_nodes();
  void on_datagram(std::size_t index, Bytes d);
  void tick();
  void drive(Node& n, Millis now);
  void handle_events(Node& n, Millis now);
  void flush(Node& n);
  void publish_next(Node& n, Millis now);
  void begin_finish(Millis now);
  void schedule();
  void stop_loop();
  Millis now() const;
  bool all_done() const;
  bool needs_connection() const;
  void failure(const Node& n, const std::string& what);

  SimOptions opts_;
  uv_loop_t loop_{};
  uv_timer_t timer_{};
  uv_signal_t sigint_{}, sigterm_{};
  std::unique_ptr<NodeTransport> transport_;
  std::vector<std::unique_ptr<Node>> nodes_;
  bool started_ = false;
  bool finishing_ = false;
  Millis started_at_{0};
  Millis finish_deadline_{0};
  int signals_ = 0;
  SimTotals totals_;
  std::string run_tag_;           // --tagged: tells this process's readings from an earlier one's
  std::FILE* ack_log_ = nullptr;  // --ack-log
};

}  // namespace mqttsn::sim
