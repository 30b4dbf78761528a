#include "e2e/e2e_nodes.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>
#include <stdexcept>
#include <variant>

#include "gateway/core/codec.hpp"
#include "tools/sim/udp_transport.hpp"

namespace mqttsn::e2e {

namespace {
constexpr std::size_t kEventKinds = static_cast<std::size_t>(EventKind::failure) + 1;
}

std::uint16_t free_udp_port() {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot bind a UDP port");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

NodeConfig node_config(std::string client_id, std::uint16_t keep_alive_s) {
  NodeConfig c;
  c.client_id = std::move(client_id);
  c.keep_alive_s = keep_alive_s;
  c.t_retry = Millis(2000);
  c.n_retry = 3;
  return c;
}

std::vector<std::uint8_t> bytes_of(std::string_view s) {
  return {s.begin(), s.end()};
}
std::string text_of(const std::vector<std::uint8_t>& b) {
  return {b.begin(), b.end()};
}

// ---------------------------------------------------------------------------------------------
// ForwarderTransport

struct ForwarderTransport::Socket {
  uv_udp_t handle{};
  ForwarderTransport* owner = nullptr;
  std::uint8_t buf[65536];
};

ForwarderTransport::ForwarderTransport(uv_loop_t* loop, std::vector<std::vector<std::uint8_t>> node_ids)
    : loop_(loop), node_ids_(std::move(node_ids)) {}

ForwarderTransport::~ForwarderTransport() {
  close();
}

bool ForwarderTransport::open(std::uint16_t gateway_port, std::string& error) {
  uv_ip4_addr("127.0.0.1", gateway_port, &gateway_);
  socket_ = new Socket;
  socket_->owner = this;
  socket_->handle.data = socket_;
  if (int rc = uv_udp_init(loop_, &socket_->handle); rc != 0) {
    delete socket_;
    socket_ = nullptr;
    error = uv_strerror(rc);
    return false;
  }
  sockaddr_in any{};
  uv_ip4_addr("127.0.0.1", 0, &any);
  int rc = uv_udp_bind(&socket_->handle, reinterpret_cast<const sockaddr*>(&any), 0);
  if (rc == 0)
    rc = uv_udp_recv_start(
        &socket_->handle,
        [](uv_handle_t* h, std::size_t, uv_buf_t* b) {
          auto* s = static_cast<Socket*>(h->data);
          *b = uv_buf_init(reinterpret_cast<char*>(s->buf), sizeof s->buf);
        },
        [](uv_udp_t* h, ssize_t n, const uv_buf_t* b, const sockaddr* from, unsigned) {
          if (n <= 0 || !from) return;
          auto* s = static_cast<Socket*>(h->data);
          s->owner->on_datagram(reinterpret_cast<const std::uint8_t*>(b->base), static_cast<std::size_t>(n));
        });
  if (rc != 0) {
    error = uv_strerror(rc);
    close();
    return false;
  }
  return true;
}

void ForwarderTransport::on_datagram(const std::uint8_t* data, std::size_t size) {
  const auto r = decode(std::span<const std::uint8_t>(data, size));
  const auto* enc = r ? std::get_if<Encapsulated>(&r.message()) : nullptr;
  if (!enc) {
    ++not_encapsulated_;
    return;
  }
  for (std::size_t i = 0; i < node_ids_.size(); ++i) {
    if (std::equal(node_ids_[i].begin(), node_ids_[i].end(), enc->node_id.begin(), enc->node_id.end())) {
      ++unwrapped_;
      if (receiver_) receiver_(i, enc->inner);
      return;
    }
  }
  ++unknown_node_id_;
}

void ForwarderTransport::open_over(std::unique_ptr<sim::NodeTransport> carrier) {
  carrier_ = std::move(carrier);
  carrier_->set_receiver([this](std::size_t, Bytes d) { on_datagram(d.data(), d.size()); });
}

void ForwarderTransport::send(std::size_t node, const sim::Datagram& d) {
  if ((!socket_ && !carrier_) || node >= node_ids_.size()) return;
  Encapsulated e;
  e.ctrl = d.broadcast ? 1 : 0;  // radius 1 for a broadcast SEARCHGW, as a forwarder would
  e.node_id = node_ids_[node];
  e.inner = d.bytes;
  std::vector<std::uint8_t> out(encoded_size(e));
  if (!encode(e, out)) return;
  if (carrier_) return carrier_->send(0, sim::Datagram{std::move(out), false});
  uv_buf_t b = uv_buf_init(reinterpret_cast<char*>(out.data()), static_cast<unsigned>(out.size()));
  // Loopback UDP to a small datagram: try_send does not block; a failure is a lost datagram,
  // which the node's retransmission covers like a radio would.
  uv_udp_try_send(&socket_->handle, &b, 1, reinterpret_cast<const sockaddr*>(&gateway_));
}

void ForwarderTransport::close() {
  if (carrier_) carrier_->close();
  if (!socket_) return;
  uv_udp_recv_stop(&socket_->handle);
  uv_close(reinterpret_cast<uv_handle_t*>(&socket_->handle),
           [](uv_handle_t* h) { delete static_cast<Socket*>(h->data); });
  socket_ = nullptr;
}

// ---------------------------------------------------------------------------------------------
// NodeHarness

NodeHarness::NodeHarness(std::vector<NodeConfig> nodes) {
  uv_loop_init(&loop_);
  started_ns_ = uv_hrtime();
  for (auto& c : nodes) nodes_.push_back(std::make_unique<NodeClient>(std::move(c)));
  events_.resize(nodes_.size());
  cursors_.assign(nodes_.size(), std::vector<std::size_t>(kEventKinds, 0));
  muted_.assign(nodes_.size(), false);
  uv_timer_init(&loop_, &ticker_);
  ticker_.data = this;
  // The nodes' deadlines are in seconds (T_RETRY, keep-alive): a 10 ms ticker is precise enough.
  uv_timer_start(&ticker_, &NodeHarness::on_tick, 10, 10);
}

NodeHarness::~NodeHarness() {
  close_transport();
  uv_close(reinterpret_cast<uv_handle_t*>(&ticker_), nullptr);
  uv_run(&loop_, UV_RUN_DEFAULT);
  uv_loop_close(&loop_);
}

Millis NodeHarness::now() const {
  return Millis(static_cast<std::int64_t>((uv_hrtime() - started_ns_) / 1'000'000));
}

sim::UdpTransport& NodeHarness::open_udp(std::uint16_t gateway_port) {
  close_transport();
  sockaddr_storage gw{};
  std::string error;
  if (!sim::resolve_host_port("127.0.0.1:" + std::to_string(gateway_port), gw, error))
    throw std::runtime_error(error);
  auto t = std::make_unique<sim::UdpTransport>(&loop_, nodes_.size());
  if (!t->open(gw, error)) throw std::runtime_error("UDP transport: " + error);
  t->set_receiver([this](std::size_t n, Bytes d) { on_receive(n, d); });
  auto& ref = *t;
  transport_ = std::move(t);
  return ref;
}

sim::DtlsTransport& NodeHarness::open_dtls(std::uint16_t gateway_port,
                                           std::vector<std::shared_ptr<radio::DtlsClientContext>> contexts) {
  close_transport();
  sockaddr_storage gw{};
  std::string error;
  if (!sim::resolve_host_port("127.0.0.1:" + std::to_string(gateway_port), gw, error))
    throw std::runtime_error(error);
  auto t = std::make_unique<sim::DtlsTransport>(&loop_, std::move(contexts), nodes_.size());
  if (!t->open(gw, error)) throw std::runtime_error("DTLS transport: " + error);
  t->set_receiver([this](std::size_t n, Bytes d) { on_receive(n, d); });
  auto& ref = *t;
  transport_ = std::move(t);
  return ref;
}

sim::XbeeCoordinatorPty& NodeHarness::open_xbee(const std::string& link_path, radio::xbee::ApiMode mode) {
  close_transport();
  std::vector<sim::XbeeNodeAddress> addrs;
  for (std::size_t i = 0; i < nodes_.size(); ++i) addrs.push_back(sim::default_node_address(i));
  sim::CoordinatorConfig cfg;
  cfg.mode = mode;
  auto t = std::make_unique<sim::XbeeCoordinatorPty>(&loop_, cfg, std::move(addrs));
  std::string error;
  if (!t->open(link_path, error)) throw std::runtime_error("XBee pty: " + error);
  t->set_receiver([this](std::size_t n, Bytes d) { on_receive(n, d); });
  auto& ref = *t;
  transport_ = std::move(t);
  return ref;
}

ForwarderTransport& NodeHarness::open_forwarder(std::uint16_t gateway_port,
                                                std::vector<std::vector<std::uint8_t>> node_ids) {
  close_transport();
  auto t = std::make_unique<ForwarderTransport>(&loop_, std::move(node_ids));
  std::string error;
  if (!t->open(gateway_port, error)) throw std::runtime_error("forwarder: " + error);
  t->set_receiver([this](std::size_t n, Bytes d) { on_receive(n, d); });
  auto& ref = *t;
  transport_ = std::move(t);
  return ref;
}

ForwarderTransport& NodeHarness::open_dtls_forwarder(std::uint16_t gateway_port,
                                                     std::shared_ptr<radio::DtlsClientContext> context,
                                                     std::vector<std::vector<std::uint8_t>> node_ids) {
  close_transport();
  sockaddr_storage gw{};
  std::string error;
  if (!sim::resolve_host_port("127.0.0.1:" + std::to_string(gateway_port), gw, error))
    throw std::runtime_error(error);
  auto carrier = std::make_unique<sim::DtlsTransport>(
      &loop_, std::vector<std::shared_ptr<radio::DtlsClientContext>>{std::move(context)}, 1);
  if (!carrier->open(gw, error)) throw std::runtime_error("DTLS forwarder: " + error);
  auto t = std::make_unique<ForwarderTransport>(&loop_, std::move(node_ids));
  t->open_over(std::move(carrier));
  t->set_receiver([this](std::size_t n, Bytes d) { on_receive(n, d); });
  auto& ref = *t;
  transport_ = std::move(t);
  return ref;
}

void NodeHarness::close_transport() {
  if (!transport_) return;
  transport_->close();
  // Let the close callbacks run before the transport object goes away.
  uv_run(&loop_, UV_RUN_NOWAIT);
  transport_.reset();
}

void NodeHarness::act(std::size_t i, const std::function<void(NodeClient&, Millis)>& command) {
  command(node(i), now());
  flush(i);
}

void NodeHarness::mute(std::size_t i, bool muted) {
  muted_.at(i) = muted;
}

void NodeHarness::on_tick(uv_timer_t* t) {
  auto* self = static_cast<NodeHarness*>(t->data);
  const Millis n = self->now();
  for (std::size_t i = 0; i < self->nodes_.size(); ++i) {
    auto& node = *self->nodes_[i];
    if (auto d = node.next_deadline(); d && *d <= n) node.on_tick(n);
  }
  self->flush_all();
}

void NodeHarness::on_receive(std::size_t i, Bytes datagram) {
  if (i >= nodes_.size() || muted_[i]) return;
  nodes_[i]->on_datagram(datagram, now());
  flush(i);
}

void NodeHarness::flush_all() {
  for (std::size_t i = 0; i < nodes_.size(); ++i) flush(i);
}

void NodeHarness::flush(std::size_t i) {
  auto& node = *nodes_[i];
  for (auto& d : node.take_datagrams())
    if (transport_ && !muted_[i]) transport_->send(i, d);
  for (auto& e : node.take_events()) events_[i].push_back(std::move(e));
}

bool NodeHarness::run_until(const std::function<bool()>& done, Ms timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= until) return false;
    // The ticker fires every 10 ms, so UV_RUN_ONCE never blocks longer than that.
    uv_run(&loop_, UV_RUN_ONCE);
  }
}

void NodeHarness::run_for(Ms duration) {
  run_until([] { return false; }, duration);
}

std::vector<Event> NodeHarness::events(std::size_t i, EventKind kind) const {
  std::vector<Event> out;
  for (const auto& e : events_.at(i))
    if (e.kind == kind) out.push_back(e);
  return out;
}

std::size_t NodeHarness::count(std::size_t i, EventKind kind) const {
  const auto& ev = events_.at(i);
  return static_cast<std::size_t>(
      std::count_if(ev.begin(), ev.end(), [&](const Event& e) { return e.kind == kind; }));
}

std::optional<Event> NodeHarness::take_next(std::size_t i, EventKind kind) {
  auto& cursor = cursors_.at(i).at(static_cast<std::size_t>(kind));
  const auto& ev = events_.at(i);
  for (; cursor < ev.size(); ++cursor)
    if (ev[cursor].kind == kind) return ev[cursor++];
  return std::nullopt;
}

void NodeHarness::skip_past(std::size_t i, EventKind kind) {
  cursors_.at(i).at(static_cast<std::size_t>(kind)) = events_.at(i).size();
}

std::optional<Event> NodeHarness::wait_event(std::size_t i, EventKind kind, Ms timeout) {
  std::optional<Event> found;
  run_until([&] { return (found = take_next(i, kind)).has_value(); }, timeout);
  return found;
}

bool NodeHarness::wait_idle(std::size_t i, Ms timeout) {
  return run_until([&] { return node(i).idle(); }, timeout);
}

std::string NodeHarness::describe(std::size_t i) const {
  std::ostringstream out;
  out << "node " << i << " (" << nodes_.at(i)->config().client_id << ", "
      << sim::to_string(nodes_[i]->state()) << ") events:";
  for (const auto& e : events_.at(i)) {
    out << "\n  " << sim::to_string(e.kind);
    if (!e.topic.empty()) out << " topic=" << e.topic;
    if (e.topic_id) out << " id=" << e.topic_id;
    if (e.kind == EventKind::message || e.kind == EventKind::published || e.kind == EventKind::subscribed)
      out << " qos=" << int(e.qos);
    if (!e.payload.empty()) out << " payload=" << std::string(e.payload.begin(), e.payload.end());
    if (e.rc != ReturnCode::accepted) out << " rc=" << int(e.rc);
    if (!e.what.empty()) out << " (" << e.what << ")";
  }
  return out.str();
}

bool NodeHarness::connect(std::size_t i, Ms timeout) {
  if (!wait_idle(i, timeout)) return false;
  const std::size_t failures = count(i, EventKind::failure);
  skip_past(i, EventKind::connected);
  act(i, [](NodeClient& n, Millis t) { n.connect(t); });
  bool connected = false;
  run_until(
      [&] {
        return (connected = take_next(i, EventKind::connected).has_value()) ||
               count(i, EventKind::failure) > failures;
      },
      timeout);
  return connected && count(i, EventKind::failure) == failures;
}

std::optional<ReturnCode> NodeHarness::connect_refused(std::size_t i, Ms timeout) {
  const std::size_t before = count(i, EventKind::failure);
  if (connect(i, timeout)) return std::nullopt;
  const auto failures = events(i, EventKind::failure);
  if (failures.size() <= before || failures[before].request != MsgType::connect) return std::nullopt;
  return failures[before].rc;
}

bool NodeHarness::publish(std::size_t i, TopicRef topic, std::string_view payload, QoS qos, bool retain,
                          Ms timeout) {
  // Only this publish's outcome counts: let earlier requests (from act()) finish first, and do not
  // take their events for it.
  if (!wait_idle(i, timeout)) return false;
  const std::size_t failures = count(i, EventKind::failure);
  skip_past(i, EventKind::published);
  act(i, [&](NodeClient& n, Millis t) { n.publish(topic, bytes_of(payload), qos, retain, t); });
  bool published = false;
  run_until(
      [&] {
        return (published = take_next(i, EventKind::published).has_value()) ||
               count(i, EventKind::failure) > failures;
      },
      timeout);
  return published && count(i, EventKind::failure) == failures;
}

}  // namespace mqttsn::e2e
