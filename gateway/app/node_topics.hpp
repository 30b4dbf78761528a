#pragma once
// The nodes as the broker sees them (see conf::OperationsConfig): each node's retained availability
// and description, and a retained summary of all, under one base topic.
//
// - Availability is told by the core (PresenceObserver) and published at once; a description on
//   change, at most every document_interval per node; the summary at most every summary_interval.
//   Everything goes out within publish_rate, availability first, so 10,000 nodes coming back after a
//   broker restart reach the broker as a steady stream, not a flood.
// - Nothing is published while the broker is away; at every connect all of it is published again
//   (a broker restarted without its retained messages is whole again).
// - A node whose clean session ended keeps its last word ("offline" or "lost") and a short
//   description for session_expiry, like a kept session, then both topics are cleared. A kept
//   session that expires or is evicted is cleared at once.
// - At start the gateway reads back the retained availability topics for a while: nodes it has no
//   session for any more (a restart ended their clean sessions) are told "offline" if they were
//   "online" or "asleep", and forgotten after session_expiry like the others.
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "conf/config.hpp"
#include "gateway/app/node_document.hpp"
#include "gateway/core/gateway.hpp"

namespace mqttsn::app {

struct NodeTopicsCounts {
  std::uint64_t availability = 0;  // availability messages published
  std::uint64_t documents = 0;     // node descriptions published
  std::uint64_t summaries = 0;
  std::uint64_t cleared = 0;    // nodes forgotten: both topics cleared
  std::uint64_t read_back = 0;  // retained availability messages read back at start
};

class NodeTopics final : public PresenceObserver {
 public:
  using Publish = std::function<void(const std::string& topic, std::string_view payload, bool retain)>;
  using Clock = std::function<DocumentClock()>;

  // forget_after: how long a node that left stays on the broker (session_expiry; 0: for ever).
  NodeTopics(const conf::OperationsConfig& config, Millis forget_after, const Gateway& core,
             std::vector<std::string> link_names, Publish publish, Clock clock);

  const std::string& base() const { return base_; }
  std::string availability_topic(std::string_view client_id) const;
  std::string document_topic(std::string_view client_id) const;
  // What to subscribe to, while read_back_open(), to read the retained availability back.
  std::string availability_filter() const { return base_ + "/nodes/+/availability"; }
  static constexpr Millis kReadBackWindow{10000};
  // Nodes remembered without a session: beyond this the longest gone are forgotten early, so a radio
  // full of made-up client ids cannot grow the gateway without bound.
  static constexpr std::size_t kMaxDeparted = 20000;

  // PresenceObserver: from inside the core's calls; only notes what is due.
  void on_presence(std::string_view client_id, PresencePlace where, Presence p) override;

  void on_upstream_state(bool connected);
  // A message on availability_filter(); false when the topic is not one.
  bool on_availability_message(std::string_view topic, std::string_view payload);
  // Whether the read-back is still wanted (until kReadBackWindow after the first connect).
  bool read_back_open() const;

  // Publishes what is due within the rate. Returns when it wants to run again.
  std::optional<Millis> on_tick();

  // Called when something becomes due, so that on_tick() runs soon (it says when it runs next).
  void set_wake(std::function<void()> wake) { wake_ = std::move(wake); }

  // The gateway's own description (<base>/gateway: version, links, what its radios say of
  // themselves), published when it changes and at every connect.
  void set_gateway_description(std::function<std::string()> describe) {
    describe_gateway_ = std::move(describe);
  }

  const NodeTopicsCounts& counts() const { return counts_; }
  std::size_t known_nodes() const { return nodes_.size(); }
  std::size_t waiting() const { return availability_due_.size() + documents_due_.size(); }

 private:
  struct Node {
    Presence presence = Presence::none;
    bool availability_queued = false;
    bool document_queued = false;
    std::optional<Millis> document_sent;
    std::size_t document_hash = 0;
    std::optional<Millis> departed;                       // no session any more, since (monotonic)
    std::chrono::system_clock::time_point departed_wall;  // for its short description
  };

  Node& node(std::string_view client_id);
  void queue_availability(const std::string& id, Node& n);
  void queue_document(const std::string& id, Node& n, Millis now);
  bool publish_availability(const std::string& id);  // false when the node is gone meanwhile
  void publish_document(const std::string& id, Node& n, Millis now);
  void publish_summary(Millis now);
  void sweep(Millis now);  // descriptions that changed; departed nodes to forget
  void forget(const std::string& id);
  bool take_token(Millis now);

  conf::OperationsConfig config_;
  std::string base_;
  Millis forget_after_;
  const Gateway& core_;
  std::vector<std::string> link_names_;
  Publish publish_;
  Clock clock_;
  std::function<std::string()> describe_gateway_;
  std::function<void()> wake_;
  void wake() {
    if (wake_) wake_();
  }
  std::size_t gateway_hash_ = 0;  // of the description last published; 0: publish it again

  std::unordered_map<std::string, Node> nodes_;
  std::queue<std::string> availability_due_;
  // (not before, client id): a description waits until document_interval after the last one.
  using DueDocument = std::pair<Millis, std::string>;
  std::priority_queue<DueDocument, std::vector<DueDocument>, std::greater<>> documents_due_;
  bool summary_due_ = false;
  std::optional<Millis> summary_sent_;
  std::optional<Millis> next_sweep_;

  bool connected_ = false;
  std::optional<Millis> first_connect_;
  double tokens_ = 0;
  std::optional<Millis> tokens_at_;
  NodeTopicsCounts counts_;
};

}  // namespace mqttsn::app
