#pragma once
// mqttsn-gw's one process: one libuv loop owns the radio links, the uplink pipeline (durable stage,
// then the upstream connection), the I/O-free core, the status socket, signals and systemd
// notification. The Daemon is the glue: it implements the core's Outputs (to links and the pipeline)
// and the pipeline's events (to the core), passes the time in, and keeps one timer armed at the
// core's next deadline.
#include <uv.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bridge/bridge.hpp"
#include "bridge/node_connect_gate.hpp"
#include "bridge/per_node_upstream.hpp"
#include "conf/config.hpp"
#include "conf/reload.hpp"
#include "gateway/app/durable_stage.hpp"
#include "gateway/app/node_topics.hpp"
#include "gateway/app/session_saver.hpp"
#include "gateway/app/status_server.hpp"
#include "gateway/app/systemd_notify.hpp"
#include "gateway/app/uplink_router.hpp"
#include "gateway/core/gateway.hpp"
#include "radio/link.hpp"

namespace mqttsn::app {

class Daemon final : public Outputs,
                     public bridge::UpstreamEvents,
                     public bridge::NodeUpstreamEvents,
                     public PresenceObserver {
 public:
  Daemon(conf::GatewayConfig config, conf::ReloadableParts parts);
  ~Daemon() override;
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Runs until SIGTERM/SIGINT (clean shutdown) and returns the process exit code.
  int run();

  // For the status socket.
  const Gateway& core() const { return *core_; }
  const bridge::Upstream& upstream() const { return *bridge_; }
  // The nodes' own connections; nullptr in shared mode.
  const bridge::PerNodeUpstream* per_node() const { return per_node_.get(); }
  // The nodes' own connections: open, waiting for their turn (node_connect_rate), and nodes refused
  // at max_node_connections. nullopt without node connections.
  struct NodeConnectionCounts {
    std::size_t open = 0, waiting = 0;
    std::uint64_t refused_at_limit = 0;
    std::size_t outbox_messages = 0;
  };
  std::optional<NodeConnectionCounts> node_connection_counts() const;
  const std::vector<std::unique_ptr<radio::Link>>& links() const { return links_; }
  const std::vector<std::string>& link_names() const { return link_names_; }
  // "?" for an index no link has (an address from a store written with other links).
  const std::string& link_name(std::uint8_t index) const {
    static const std::string unknown = "?";
    return index < link_names_.size() ? link_names_[index] : unknown;
  }
  const conf::GatewayConfig& config() const { return config_; }
  DurableStageStatus store_status() const;
  const StatusServer& status_server() const { return *status_; }
  double uptime_seconds() const;
  const NodeTopics* node_topics() const { return node_topics_.get(); }
  std::uint64_t requests_answered() const { return requests_answered_; }
  std::uint64_t requests_ignored() const { return requests_ignored_; }  // not JSON, or retained

  // Operator actions (operator_requests.cpp; daemon_operations.cpp).
  bool disconnect_client(std::string_view client_id);
  std::optional<std::size_t> clear_buffer(std::string_view client_id);
  // Until the next reload or restart. An error text, or nullopt when done.
  std::optional<std::string> add_predefined(std::uint16_t topic_id, std::string topic, std::string client_id);
  bool remove_predefined(std::uint16_t topic_id, std::string_view client_id);
  struct ReloadOutcome {
    bool ok = false;
    std::string errors;
    std::vector<std::string> restart_needed;
  };
  ReloadOutcome reload();  // what SIGHUP does

  // Outputs (called by the core).
  void send(const LinkAddress& to, Bytes datagram) override;
  void broadcast(std::uint8_t link, Bytes datagram, std::uint8_t radius) override;
  void publish(PublishId id, std::string_view client_id, std::string_view topic, Bytes payload, QoS qos,
               bool retain) override;
  void subscribe(std::string_view filter, QoS qos) override;
  void unsubscribe(std::string_view filter) override;
  // Per-node mode (daemon_per_node.cpp).
  void node_connect(const NodeConnect& c) override;
  void node_subscribe(std::string_view client_id, std::string_view filter, QoS qos) override;
  void node_unsubscribe(std::string_view client_id, std::string_view filter) override;
  void node_close(std::string_view client_id) override;

  // NodeUpstreamEvents (called by the nodes' connections, on the loop).
  void on_node_connack(std::string_view client_id, ReturnCode rc) override;
  void on_node_suback(std::string_view client_id, std::string_view filter,
                      std::optional<QoS> granted) override;
  void on_node_message(std::string_view client_id, std::string_view topic, Bytes payload, QoS qos,
                       bool retain) override;
  void on_node_publish_result(PublishId id, PublishResult result) override;

  // PresenceObserver (called by the core): the node's link, then the node topics.
  void on_presence(std::string_view client_id, PresencePlace where, Presence p) override;

  // UpstreamEvents (called by the pipeline, on the loop, never from inside a call of the core).
  DownlinkReceipt on_message(std::string_view topic, Bytes payload, QoS qos, bool retain,
                             bridge::InboxId inbox) override;
  void on_publish_result(PublishId id, PublishResult result) override;
  void on_suback(std::string_view filter, std::optional<QoS> granted) override;
  void on_state(bridge::UpstreamState state) override;

 private:
  Millis now() const;
  void arm_core_timer();
  void on_datagram(const LinkAddress& from, Bytes datagram);
  void start_signals();
  void apply_psk_keys();  // hands each DTLS link its pre-shared keys (at start and after a reload)
  void begin_shutdown(const char* why);
  void finish_shutdown();
  void close_handles();
  bool tracing_packets() const;  // the -vv log or a status-socket trace wants packets described
  void trace_packet(const char* direction, const LinkAddress& peer, Bytes datagram) const;
  void end_of_turn();  // hands the core's changed sessions to the durable stage
  // The broker-side node topics and requests (daemon_operations.cpp).
  void start_node_topics();
  void run_node_topics();
  // A message from the broker on the base topic: read back, or a request (the core gets it too).
  void on_operations_message(std::string_view topic, Bytes payload, bool retain);
  bool owns_filter(std::string_view filter) const;  // a subscription of the gateway's own
  void apply_predefined_topics();
  void start_per_node();  // daemon_per_node.cpp
  void run_node_gate();   // opens the node connections whose turn came, answers refusals
  void arm_node_gate();

  conf::GatewayConfig config_;
  conf::ReloadableState reloadable_;
  uv_loop_t loop_{};
  std::uint64_t started_ns_ = 0;

  std::vector<std::unique_ptr<radio::Link>> links_;
  std::vector<std::string> link_names_;
  std::unique_ptr<DurableStage> durable_;  // the pipeline's first stage: the core publishes into it
  std::unique_ptr<bridge::Bridge> bridge_;
  std::unique_ptr<UplinkRouter> router_;  // below the durable stage: shared or the node's own connection
  std::unique_ptr<bridge::PerNodeUpstream> per_node_;   // per-node mode: the nodes' own connections
  std::unique_ptr<bridge::NodeConnectGate> node_gate_;  // their limit and connect rate
  std::vector<std::string> node_refusals_;              // refused at the limit, answered on a later turn
  std::uint64_t node_refused_at_limit_ = 0;
  SessionSaver sessions_;
  std::unique_ptr<Gateway> core_;
  std::unique_ptr<StatusServer> status_;
  std::unique_ptr<SystemdNotifier> systemd_;
  std::unique_ptr<NodeTopics> node_topics_;
  bool reading_back_ = false;   // subscribed to the node topics' availability (see NodeTopics)
  std::string request_filter_;  // <base>/request/+ when requests are on
  std::uint64_t requests_answered_ = 0, requests_ignored_ = 0;
  // Predefined topics added and removed by requests, over the file's (until a reload).
  std::vector<conf::PredefinedTopic> predefined_added_;
  std::vector<std::pair<std::uint16_t, std::string>> predefined_removed_;

  uv_timer_t core_timer_{};
  uv_timer_t node_topics_timer_{};
  uv_prepare_t turn_end_{};  // runs once per loop turn, before it waits: collects changed sessions
  uv_timer_t shutdown_timer_{};
  uv_timer_t node_gate_timer_{};
  uv_signal_t sigterm_{}, sigint_{}, sighup_{};
  bool shutting_down_ = false;
  bool ready_sent_ = false;
  bool handles_closed_ = false;
  int exit_code_ = 0;
};

}  // namespace mqttsn::app
