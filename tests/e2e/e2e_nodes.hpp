#pragma once
// The end-to-end tests' node side: one libuv loop, one transport (UDP sockets, an XBee coordinator
// on a pty, or a UDP forwarder that encapsulates), N simulated NodeClients, a ticker for their
// deadlines, and every event each node reported, kept in order. The gateway runs as a separate
// process (GatewayProcess), so this loop only drives the nodes.
//
//   NodeHarness nodes({{.client_id = "n1"}});
//   nodes.open_udp(gateway_udp_port);
//   nodes.act(0, [](NodeClient& n, Millis now) { n.connect(now); });
//   auto ev = nodes.wait_event(0, EventKind::connected);   // std::optional<Event>
#include <uv.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "radio/xbee_frame.hpp"
#include "tools/sim/dtls_transport.hpp"
#include "tools/sim/node_client.hpp"
#include "tools/sim/node_transport.hpp"
#include "tools/sim/udp_transport.hpp"
#include "tools/sim/xbee_coordinator_pty.hpp"

namespace mqttsn::e2e {

using sim::Event;
using sim::EventKind;
using sim::NodeClient;
using sim::NodeConfig;
using sim::TopicRef;
using Ms = std::chrono::milliseconds;

// A UDP port on 127.0.0.1 nobody uses right now (bind to port 0 and ask).
std::uint16_t free_udp_port();

// A node configuration with test-friendly timers: T_RETRY 2 s, 3 retransmissions.
NodeConfig node_config(std::string client_id, std::uint16_t keep_alive_s = 60);

// Bytes of a string, for payloads.
std::vector<std::uint8_t> bytes_of(std::string_view s);
std::string text_of(const std::vector<std::uint8_t>& b);

// A forwarder (spec 5.5) on one UDP socket: node i's datagrams go out wrapped in a 0xFE
// Encapsulated header with node_ids[i]; replies are unwrapped and routed by their node id. Anything
// that is not an encapsulation of a known node id is counted, not delivered.
class ForwarderTransport final : public sim::NodeTransport {
 public:
  ForwarderTransport(uv_loop_t* loop, std::vector<std::vector<std::uint8_t>> node_ids);
  ~ForwarderTransport() override;
  bool open(std::uint16_t gateway_port, std::string& error);
  // The forwarder's own link to the gateway is `carrier`, as its node 0 (a DTLS association: the
  // forwarder authenticates as itself), instead of a plain UDP socket.
  void open_over(std::unique_ptr<sim::NodeTransport> carrier);
  void set_receiver(Receiver r) override { receiver_ = std::move(r); }
  void send(std::size_t node, const sim::Datagram& d) override;
  void close() override;

  std::uint64_t unwrapped() const { return unwrapped_; }  // replies routed to a node
  std::uint64_t not_encapsulated() const { return not_encapsulated_; }
  std::uint64_t unknown_node_id() const { return unknown_node_id_; }

 private:
  struct Socket;
  void on_datagram(const std::uint8_t* data, std::size_t size);

  uv_loop_t* loop_;
  std::vector<std::vector<std::uint8_t>> node_ids_;
  Socket* socket_ = nullptr;
  std::unique_ptr<sim::NodeTransport> carrier_;
  sockaddr_in gateway_{};
  Receiver receiver_;
  std::uint64_t unwrapped_ = 0, not_encapsulated_ = 0, unknown_node_id_ = 0;
};

class NodeHarness {
 public:
  explicit NodeHarness(std::vector<NodeConfig> nodes);
  ~NodeHarness();
  NodeHarness(const NodeHarness&) = delete;
  NodeHarness& operator=(const NodeHarness&) = delete;

  // Pick one transport (each throws std::runtime_error on failure). close_transport() releases it,
  // e.g. to unplug the pty; another one can then be opened; the nodes keep their state.
  sim::UdpTransport& open_udp(std::uint16_t gateway_port);
  // DTLS over UDP; `contexts`: one per node, or one for all.
  sim::DtlsTransport& open_dtls(std::uint16_t gateway_port,
                                std::vector<std::shared_ptr<radio::DtlsClientContext>> contexts);
  sim::XbeeCoordinatorPty& open_xbee(const std::string& link_path,
                                     radio::xbee::ApiMode mode = radio::xbee::ApiMode::escaped);
  ForwarderTransport& open_forwarder(std::uint16_t gateway_port,
                                     std::vector<std::vector<std::uint8_t>> node_ids);
  // A forwarder that reaches a DTLS link through one association of its own.
  ForwarderTransport& open_dtls_forwarder(std::uint16_t gateway_port,
                                          std::shared_ptr<radio::DtlsClientContext> context,
                                          std::vector<std::vector<std::uint8_t>> node_ids);
  void close_transport();

  uv_loop_t* loop() { return &loop_; }
  std::size_t size() const { return nodes_.size(); }
  NodeClient& node(std::size_t i) { return *nodes_.at(i); }
  Millis now() const;

  // Gives node i a command, then sends what it produced.
  void act(std::size_t i, const std::function<void(NodeClient&, Millis)>& command);
  // A muted node neither sends nor receives (a node that died or went out of range).
  void mute(std::size_t i, bool muted = true);

  // Runs the loop until `done` holds; false on timeout.
  bool run_until(const std::function<bool()>& done, Ms timeout = Ms(5000));
  void run_for(Ms duration);  // only for "nothing more happens" checks

  // Every event node i reported so far, oldest first.
  const std::vector<Event>& events(std::size_t i) const { return events_.at(i); }
  std::vector<Event> events(std::size_t i, EventKind kind) const;
  std::size_t count(std::size_t i, EventKind kind) const;
  // The next event of `kind` not yet returned by wait_event (per node and kind), waiting for it.
  std::optional<Event> wait_event(std::size_t i, EventKind kind, Ms timeout = Ms(5000));
  // Waits until node i has nothing outstanding or queued.
  bool wait_idle(std::size_t i, Ms timeout = Ms(5000));
  // Moves node i's cursor for `kind` past every event so far: wait_event then sees only new ones.
  void skip_past(std::size_t i, EventKind kind);
  // Node i's events as text, for failure messages.
  std::string describe(std::size_t i) const;

  // Shorthands for the common flows; each first waits for the node's earlier requests to finish,
  // then for its own outcome, and returns whether it succeeded.
  // Connects and waits for the next `connected` event (true) or a new failure (false).
  bool connect(std::size_t i, Ms timeout = Ms(5000));
  // CONNECTs and expects a refusal: the CONNACK's return code, or nullopt when the node connected or
  // no CONNACK came.
  std::optional<ReturnCode> connect_refused(std::size_t i, Ms timeout = Ms(5000));
  // Publishes and waits for the next `published` event (true) or a new failure (false).
  bool publish(std::size_t i, TopicRef topic, std::string_view payload, QoS qos, bool retain = false,
               Ms timeout = Ms(5000));

 private:
  std::optional<Event> take_next(std::size_t i, EventKind kind);  // advances the cursor
  static void on_tick(uv_timer_t* t);
  void on_receive(std::size_t node, Bytes datagram);
  void flush_all();
  void flush(std::size_t i);

  uv_loop_t loop_{};
  uv_timer_t ticker_{};
  std::uint64_t started_ns_ = 0;
  std::vector<std::unique_ptr<NodeClient>> nodes_;
  std::vector<std::vector<Event>> events_;
  std::vector<std::vector<std::size_t>> cursors_;  // per node, per EventKind: next index to look at
  std::vector<bool> muted_;
  std::unique_ptr<sim::NodeTransport> transport_;
};

}  // namespace mqttsn::e2e
