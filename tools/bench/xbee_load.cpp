#include "tools/bench/xbee_load.hpp"

#include <uv.h>

#include <algorithm>

#include "tools/bench/payload.hpp"
#include "tools/sim/node_client.hpp"
#include "tools/sim/xbee_coordinator_pty.hpp"

namespace mqttsn::bench {

using sim::EventKind;
using sim::NodeClient;

namespace {

Millis ms_now() {
  return Millis(static_cast<std::int64_t>(now_ns() / 1'000'000));
}

}  // namespace

struct XbeeLoad::Impl {
  struct Node {
    std::unique_ptr<NodeClient> client;
    std::uint32_t next_seq = 0;  // next message to publish
    std::uint32_t quota = 0;     // messages this node publishes
    std::uint64_t sent_ns = 0;   // first send of the message in flight
    bool connected = false, ready = false, failed = false, busy = false;
  };

  const Options& o;
  std::string run_id;
  const std::atomic<bool>& stop;
  uv_loop_t loop{};
  uv_timer_t tick{};
  std::unique_ptr<sim::XbeeCoordinatorPty> pty;
  std::vector<Node> nodes;
  bool host_seen = false;
  bool publishing = false;
  LoadCounters c;
  ConnectTimes times;
  std::uint64_t connect_start = 0, first_send = 0;
  std::vector<std::uint64_t> ack_lat;
  std::vector<std::uint8_t> payload;

  Impl(const Options& opt, std::string id, const std::atomic<bool>& s)
      : o(opt), run_id(std::move(id)), stop(s) {
    uv_loop_init(&loop);
    uv_timer_init(&loop, &tick);
    tick.data = this;
    payload.resize(static_cast<std::size_t>(o.payload));
  }

  ~Impl() {
    if (pty) pty->close();
    uv_close(reinterpret_cast<uv_handle_t*>(&tick), nullptr);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
  }

  void flush(std::size_t i) {
    for (auto& d : nodes[i].client->take_datagrams()) {
      ++c.transmissions;
      pty->send(i, d);
    }
  }

  void next_publish(std::size_t i, Millis t) {
    Node& n = nodes[i];
    if (n.busy || n.failed || n.next_seq >= n.quota) return;
    const std::uint64_t sent = now_ns();
    encode_payload({static_cast<std::uint32_t>(i), n.next_seq, sent}, payload);
    ++n.next_seq;
    n.busy = true;
    n.sent_ns = sent;
    if (first_send == 0) first_send = sent;
    ++c.published;
    n.client->publish(sim::TopicRef::named(bench_topic(o, run_id, static_cast<int>(i), 0)), payload,
                      static_cast<QoS>(o.qos), false, t);
  }

  void events(std::size_t i, Millis t) {
    Node& n = nodes[i];
    for (auto& e : n.client->take_events()) {
      switch (e.kind) {
        case EventKind::connected:
          n.connected = true;
          ++times.connected;
          times.connack_ns[i] = now_ns() - connect_start;
          break;
        case EventKind::registered:
          n.ready = true;
          ++times.registered;
          times.ready_ns[i] = now_ns() - connect_start;
          break;
        case EventKind::published:
          n.busy = false;
          if (o.qos > 0) {
            ++c.acked;
            ack_lat.push_back(now_ns() - n.sent_ns);
          }
          if (publishing) next_publish(i, t);
          break;
        case EventKind::failure:
          if (e.request == MsgType::publish) {
            // A refused or unanswered PUBLISH: the node gives the reading up and goes on.
            n.busy = false;
            ++c.gave_up;
            if (e.rc != ReturnCode::accepted) ++c.rejected;
            if (e.rc == ReturnCode::congestion) ++c.rejected_congestion;
            if (publishing) next_publish(i, t);
          } else {
            n.failed = true;
            ++times.failed;
            if (e.request == MsgType::connect) ++c.connack_rejects;
            if (e.request == MsgType::reg) ++c.regack_rejects;
          }
          break;
        case EventKind::disconnected:
          if (e.unsolicited) ++c.gateway_disconnects;
          break;
        default:
          break;
      }
    }
    flush(i);
  }

  // Runs the loop until `done` holds, the stop flag is set or the timeout passes.
  template <class Done>
  void run_until(double timeout_s, Done done) {
    const auto end = now_ns() + static_cast<std::uint64_t>(timeout_s * 1e9);
    while (!done() && !stop && now_ns() < end) uv_run(&loop, UV_RUN_ONCE);
  }

  void on_tick() {
    const Millis t = ms_now();
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      const auto d = nodes[i].client->next_deadline();
      if (d && *d <= t) {
        nodes[i].client->on_tick(t);
        events(i, t);
      }
    }
  }
};

XbeeLoad::XbeeLoad(const Options& o, std::string run_id, const std::atomic<bool>& stop)
    : impl_(std::make_unique<Impl>(o, std::move(run_id), stop)) {}

XbeeLoad::~XbeeLoad() = default;

std::string XbeeLoad::open() {
  Impl& m = *impl_;
  std::vector<sim::XbeeNodeAddress> addrs;
  for (int i = 0; i < m.o.clients; ++i) {
    addrs.push_back(sim::default_node_address(static_cast<std::size_t>(i)));
    sim::NodeConfig cfg;
    cfg.client_id = "bx-" + m.run_id.substr(0, 8) + "-" + std::to_string(i);
    cfg.keep_alive_s = static_cast<std::uint16_t>(m.o.keepalive_s);
    cfg.t_retry = Millis(m.o.retry_ms);
    cfg.n_retry = m.o.max_retries;
    m.nodes.push_back({std::make_unique<NodeClient>(std::move(cfg))});
  }
  m.pty = std::make_unique<sim::XbeeCoordinatorPty>(&m.loop, sim::CoordinatorConfig{}, std::move(addrs));
  std::string err;
  if (!m.pty->open(m.o.xbee_pty, err)) return "xbee pty: " + err;
  m.pty->set_on_host_frames([&m] { m.host_seen = true; });
  m.pty->set_receiver([&m](std::size_t i, Bytes d) {
    if (i >= m.nodes.size()) return;
    ++m.c.received;
    const Millis t = ms_now();
    m.nodes[i].client->on_datagram(d, t);
    m.events(i, t);
  });
  uv_timer_start(
      &m.tick, [](uv_timer_t* h) { static_cast<Impl*>(h->data)->on_tick(); }, 5, 5);
  return {};
}

ConnectTimes XbeeLoad::connect_all(double timeout_s) {
  Impl& m = *impl_;
  const std::size_t n = m.nodes.size();
  m.times.connack_ns.assign(n, 0);
  m.times.ready_ns.assign(n, 0);
  // The gateway reopens a missing serial device with a back-off: wait until it talks to the radio.
  m.run_until(timeout_s, [&] { return m.host_seen; });
  if (!m.host_seen) return m.times;
  m.connect_start = now_ns();
  const Millis t = ms_now();
  for (std::size_t i = 0; i < n; ++i) {
    m.nodes[i].client->connect(t);
    m.nodes[i].client->register_topic(bench_topic(m.o, m.run_id, static_cast<int>(i), 0), t);
    m.flush(i);
  }
  m.run_until(timeout_s, [&] { return m.times.registered + m.times.failed >= static_cast<int>(n); });
  return m.times;
}

void XbeeLoad::publish(double timeout_s) {
  Impl& m = *impl_;
  const auto ready = static_cast<std::uint64_t>(
      std::count_if(m.nodes.begin(), m.nodes.end(), [](const Impl::Node& x) { return x.ready; }));
  if (ready == 0) return;
  // The messages are shared out among the nodes that got through CONNECT and REGISTER.
  std::uint64_t k = 0;
  for (auto& x : m.nodes)
    if (x.ready) x.quota = static_cast<std::uint32_t>(m.o.count / ready + (k++ < m.o.count % ready ? 1 : 0));
  m.publishing = true;
  const Millis t = ms_now();
  for (std::size_t i = 0; i < m.nodes.size(); ++i) {
    if (!m.nodes[i].ready) continue;
    m.next_publish(i, t);
    m.flush(i);
  }
  m.run_until(timeout_s, [&] {
    return std::all_of(m.nodes.begin(), m.nodes.end(),
                       [](const Impl::Node& x) { return !x.ready || (!x.busy && x.next_seq >= x.quota); });
  });
  m.publishing = false;
  for (auto& x : m.nodes) m.c.retransmissions += x.client->stats().retransmissions;
}

void XbeeLoad::disconnect_all() {
  Impl& m = *impl_;
  const Millis t = ms_now();
  for (std::size_t i = 0; i < m.nodes.size(); ++i) {
    if (!m.nodes[i].connected) continue;
    m.nodes[i].client->disconnect(t);
    m.flush(i);
  }
  m.run_until(0.5, [] { return false; });
}

const LoadCounters& XbeeLoad::counters() const {
  return impl_->c;
}

std::vector<std::uint64_t> XbeeLoad::take_ack_latencies() {
  return std::move(impl_->ack_lat);
}

std::uint64_t XbeeLoad::first_send_ns() const {
  return impl_->first_send;
}

std::uint64_t XbeeLoad::frame_errors() const {
  return impl_->pty ? impl_->pty->coordinator().counters().frame_errors : 0;
}

std::uint64_t XbeeLoad::backlog_drops() const {
  return impl_->pty ? impl_->pty->backlog_drops() : 0;
}

}  // namespace mqttsn::bench
