#pragma once
// What opens a node's broker connection in per-node (and mixed) mode, and when: at most
// max_connections at once (a node past it is refused, its CONNACK "congestion"), and at most `rate`
// new connections a second towards the broker. Beyond the rate the requests wait in the order they
// came, so hundreds of nodes reconnecting after a gateway restart reach the broker as a steady stream
// rather than a flood it refuses. A node repeating its CONNECT while it waits keeps its place.
// Pure logic: the daemon gives it the time and opens what take_due() returns.
#include <cstddef>
#include <deque>
#include <optional>
#include <string_view>

#include "bridge/per_node_upstream.hpp"

namespace mqttsn::bridge {

class NodeConnectGate {
 public:
  struct Options {
    std::size_t max_connections = 0;  // 0: no limit
    double rate = 0;                  // connections opened a second; 0: no limit
  };
  enum class Verdict : std::uint8_t { open_now, queued, refused };

  explicit NodeConnectGate(Options o) : options_(o), tokens_(burst()) {}

  // `open`: the node connections there are now (those waiting here not included).
  Verdict offer(const NodeConnectRequest& request, std::size_t open, Millis now);
  // The requests whose turn has come, oldest first.
  std::vector<NodeConnectRequest> take_due(Millis now);
  // When the next waiting request's turn comes; nullopt when none waits.
  std::optional<Millis> next_due() const;
  // A connection the gateway opens by itself: one the broker dropped, made again, or one opened to
  // deliver what an absent node left (`new_connection`, counted against the limit). Only when no
  // node's CONNECT waits (nodes come first), and within the rate: true takes the turn.
  bool take_background(std::size_t open, bool new_connection, Millis now);
  // The node left (DISCONNECT, lost) before its turn: true when it was waiting.
  bool cancel(std::string_view client_id);
  std::size_t waiting() const { return queue_.size(); }

 private:
  double burst() const { return options_.rate >= 1 ? options_.rate : 1; }
  void refill(Millis now);

  Options options_;
  double tokens_;
  Millis last_{0};
  bool started_ = false;
  std::deque<NodeConnectRequest> queue_;
};

}  // namespace mqttsn::bridge
