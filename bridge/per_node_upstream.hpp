#pragma once
// The transparent gateway's upstream: one Paho MQTTAsync client per node, whose MQTT client id is the
// node's (with an optional prefix) and whose broker identity comes from the node's credentials. The
// node's CONNECT opens it with the node's CleanSession, keep-alive and will; the node's publishes and
// subscriptions go on it, and what arrives on it is the node's alone. Closing it sends DISCONNECT, so
// the broker does not publish the will: a lost node's will is published on it first (by the core).
// When the gateway dies the connections drop without DISCONNECT and the broker publishes the wills.
//
// A publish the stage above keeps (PublishRequest::kept_above: the durable stage, which holds its
// row) is never given up for a connection that is down: it waits in the node's outbox, goes out
// when the node's connection is up, and goes back to the outbox when a connection ends before the
// broker acknowledged it (at least once). What an absent node left (its node gone before the broker
// came back, or rows from before a restart) goes on a delivery connection: the node's broker
// identity, no will, its last CleanSession (kept, when not known: a clean one would discard the
// node's broker session), closed once the outbox is empty. Only a node with no broker identity any
// more, or one the broker refuses, has its outbox given up (`congested`: dropped above, logged).
//
// Connections the gateway makes by itself (made again after the broker dropped them, delivery
// connections) are paced by PerNodeOptions::may_open, so a broker restart is not answered with a
// flood of reconnects. A connection tries one server per attempt: one not reached passes the
// attempt to the next in `servers`, a round of all of them waits reconnect_delay.
//
// Paho's clients share its send and receive threads; their callbacks only post events, which the
// loop takes (as for the shared connection, bridge/paho_mailbox.hpp). Answers always come on a later
// loop turn, never from inside a request.
#include <uv.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bridge/bridge_options.hpp"
#include "bridge/connack_mapping.hpp"
#include "bridge/qos_translation.hpp"
#include "bridge/topic_mount.hpp"
#include "bridge/upstream.hpp"

namespace mqttsn::bridge {

// What a node's connection logs in with. A client certificate needs an ssl:// server; a node
// without one connects with no client certificate (never with the gateway's, which would give the
// node the gateway's identity at a broker that takes the certificate's name as the user).
struct NodeIdentity {
  std::string username;                 // empty: none
  std::optional<std::string> password;  // nullopt: none
  std::string cert_file;                // the node's client certificate (chain), PEM; empty: none
  std::string key_file;                 // its private key
};
// A node's identity, or nullopt with `error` saying why it has none (the node is refused).
using IdentityLookup =
    std::function<std::optional<NodeIdentity>(std::string_view client_id, std::string& error)>;

struct PerNodeOptions {
  std::vector<std::string> servers;  // failed over in this order (one scheme for all)
  std::string client_id_prefix;
  std::string topic_prefix;
  // For an ssl:// server: how the broker's certificate is checked (the gateway's own CA settings).
  // Its cert_file and key_file are the gateway's and are not used for nodes.
  TlsOptions tls;
  QosTranslation qos;
  Millis connect_timeout{10'000};
  std::uint16_t keep_alive_floor_s = 10;  // a node's keep-alive below this (0 included) is raised to it
  Millis close_timeout{2'000};            // what DISCONNECT waits for messages in flight (a will)
  Millis reconnect_delay{2'000};          // after the broker dropped a node's connection
  IdentityLookup identity;
  // May a connection the gateway makes by itself open now? `new_connection`: a delivery connection
  // (counted against the limit), else one the broker dropped. Unset: always.
  std::function<bool(bool new_connection)> may_open;
};

struct NodeWill {
  std::string topic;  // as the node named it
  std::vector<std::uint8_t> message;
  QoS qos = 0;
  bool retain = false;
  friend bool operator==(const NodeWill&, const NodeWill&) = default;
};

struct NodeConnectRequest {
  std::string client_id;
  bool clean_session = true;
  std::uint16_t keep_alive_s = 0;
  std::optional<NodeWill> will;
  // A will update: the connection replacing the node's current one makes its subscriptions again.
  bool keep_subscriptions = false;
  friend bool operator==(const NodeConnectRequest&, const NodeConnectRequest&) = default;
};

class NodeUpstreamEvents {
 public:
  virtual ~NodeUpstreamEvents() = default;
  virtual void on_node_connack(std::string_view client_id, ReturnCode rc) = 0;
  virtual void on_node_suback(std::string_view client_id, std::string_view filter,
                              std::optional<QoS> granted) = 0;
  virtual void on_node_message(std::string_view client_id, std::string_view topic, Bytes payload, QoS qos,
                               bool retain) = 0;
  virtual void on_node_publish_result(PublishId id, PublishResult result) = 0;
};

enum class NodeConnectionState : std::uint8_t { connecting, connected, reconnecting, closing };
const char* to_string(NodeConnectionState s);

struct NodeConnectionStatus {
  std::string client_id;       // the node's
  std::string mqtt_client_id;  // at the broker
  std::string username;
  std::string cert_file;  // its client certificate; empty: none
  NodeConnectionState state = NodeConnectionState::connecting;
  std::string last_error;
  std::size_t outbox = 0;  // kept publishes waiting for the connection (not yet sent)
  bool delivery = false;   // opened by the gateway to deliver the outbox of an absent node
};

class PerNodeUpstream {
 public:
  PerNodeUpstream(uv_loop_t* loop, PerNodeOptions options, NodeUpstreamEvents& events);
  ~PerNodeUpstream();
  PerNodeUpstream(const PerNodeUpstream&) = delete;
  PerNodeUpstream& operator=(const PerNodeUpstream&) = delete;

  // Loads Paho; false when the options cannot work (logged).
  bool start();
  // Opens the node's connection; on_node_connack follows. One it has with the same request is kept
  // (a node retrying its CONNECT); one made otherwise is closed and replaced.
  void connect(const NodeConnectRequest& request);
  // On the connection of request.client_id; `congested` when it has none.
  void publish(const PublishRequest& request);
  void subscribe(std::string_view client_id, std::string_view filter, QoS qos);
  void unsubscribe(std::string_view client_id, std::string_view filter);
  // Sends DISCONNECT after what is in flight (up to close_timeout), then frees the client.
  void close(std::string_view client_id);
  // Closes every connection; `done` runs on the loop when all are gone or `grace` has passed.
  void shutdown(Millis grace, std::function<void()> done);

  std::optional<NodeConnectionStatus> status_of(std::string_view client_id) const;
  std::size_t connections() const { return by_serial_.size(); }
  // Kept publishes waiting in outboxes, of every node.
  std::size_t outbox_messages() const;
  bool has(std::string_view client_id) const { return live(client_id) != nullptr; }

  struct Connection;  // per_node_upstream.cpp

 private:
  struct Pending {  // a kept publish, ready for Paho
    PublishId id = 0;
    std::string topic;  // as the broker sees it
    std::vector<std::uint8_t> payload;
    int qos = 1;  // MQTT
    bool retain = false;
  };
  struct Outbox {
    std::deque<Pending> queued;
    bool clean_session = false;                // of the node's last connection (kept when not known)
    std::optional<std::uint64_t> retry_at_ms;  // a refused delivery connection: when to try again
  };
  struct InFlight {
    PublishId id = 0;
    std::optional<Pending> kept;  // goes back to the outbox when the connection ends first
  };
  // Makes a connection for `request` (a delivery one: no will, nobody told of its CONNACK).
  void open_with(const NodeConnectRequest& request, std::vector<std::pair<std::string, int>> kept,
                 bool delivery);
  void send_outbox(Connection& c);
  // Hands one message to Paho on `c`: its token, or nullopt when Paho refused it.
  std::optional<int> send(Connection& c, const std::string& topic, Bytes payload, int qos, bool retain);
  // Publishes that left `c` unacknowledged go back to the front of the node's outbox, in their order.
  void back_to_outbox(const Connection& c, std::vector<Pending>&& in_order);
  // A connection ended with publishes in flight: the kept ones wait for the next, in their order.
  void take_back(Connection& c);
  void give_up_outbox(const std::string& client_id, const std::string& why);
  void retry_delivery_later(const std::string& client_id);
  void open_delivery(const std::string& client_id, Outbox& box);
  static void on_mailbox(uv_async_t* handle);
  void take_events(Connection& c);
  void open(Connection& c);
  void begin_close(Connection& c);
  void finish_close(Connection& c);  // destroys the Paho client and forgets the connection
  Connection* live(std::string_view client_id) const;
  // Answers that are known at once still come on a later turn: the core is not re-entrant.
  void answer_later(PublishId id, PublishResult result);
  void refuse_later(const std::string& client_id, ReturnCode rc);
  // Ends a connection the broker did not take and answers the node (when it is still the node's).
  void refuse(Connection& c, const std::string& why, ReturnCode rc);
  // A failed TLS connect without OpenSSL's reason: `m` when the broker is not reached, else refused.
  void refuse_unless_tls(Connection& c, const ConnackMapping& m);
  void later(std::function<void()> call);
  void on_tick();

  uv_loop_t* loop_;
  PerNodeOptions options_;
  NodeUpstreamEvents& events_;
  TopicMount mount_;
  uv_timer_t* tick_ = nullptr;    // reconnects due, and the end of a shutdown's grace
  uv_timer_t* answer_ = nullptr;  // answers to publishes that could not go, on the next turn
  std::uint64_t next_serial_ = 1;
  std::map<std::uint64_t, std::unique_ptr<Connection>> by_serial_;  // every client, closing ones too
  std::map<std::string, std::uint64_t, std::less<>> live_;          // client id -> its current connection
  std::vector<std::function<void()>> deferred_;
  std::map<std::string, Outbox, std::less<>> outboxes_;
  std::function<void()> shutdown_done_;
  bool shutting_down_ = false;  // nothing is answered or taken back: the stage above keeps it
  bool started_ = false;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // probes in flight check it
};

}  // namespace mqttsn::bridge
