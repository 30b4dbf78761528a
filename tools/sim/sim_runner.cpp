#include "tools/sim/sim_runner.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>

#include <unistd.h>

#include "gateway/core/codec.hpp"
#include "tools/sim/dtls_transport.hpp"
#include "tools/sim/udp_transport.hpp"
#include "tools/sim/xbee_coordinator_pty.hpp"

namespace mqttsn::sim {

struct SimRunner::Node {
  Node(std::size_t i, NodeConfig cfg)
      : index(i), number(i + 1), name(cfg.client_id), client(std::move(cfg)) {}
  std::size_t index;
  std::size_t number;
  std::string name;
  NodeClient client;
  Phase phase = Phase::idle;
  Millis start_at{0};
  Millis next_publish{0};
  Millis next_wake{0};
  std::optional<Millis> reconnect_at;
  std::uint64_t sent = 0;
  bool session_set_up = false;
  int reconnects_in_a_row = 0;
  bool last_connect_clean = true;
};

namespace {

constexpr int kMaxReconnectsForCount = 2;

std::string hex(Bytes b) {
  std::string out;
  char buf[4];
  for (std::size_t i = 0; i < b.size(); ++i) {
    std::snprintf(buf, sizeof buf, i ? " %02X" : "%02X", b[i]);
    out += buf;
  }
  return out;
}

const char* type_name(Bytes b) {
  auto r = decode(b);
  return r ? to_string(type_of(r.message())) : "(undecodable)";
}

std::string printable(const std::vector<std::uint8_t>& payload) {
  std::string s(payload.begin(), payload.end());
  for (char& c : s)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) == 0x7F) c = '.';
  return s;
}

}  // namespace

SimRunner::SimRunner(SimOptions opts) : opts_(std::move(opts)) {
  uv_loop_init(&loop_);
  for (std::size_t i = 0; i < opts_.nodes; ++i) {
    NodeConfig c;
    c.client_id = expand_pattern(opts_.client_id, i + 1);
    c.keep_alive_s = opts_.keep_alive_s;
    c.clean_session = opts_.clean_session;
    c.t_retry = opts_.t_retry;
    c.n_retry = opts_.n_retry;
    if (!opts_.will_topic.empty())
      c.will = WillConfig{expand_pattern(opts_.will_topic, i + 1), expand_pattern(opts_.will_msg, i + 1),
                          static_cast<QoS>(opts_.will_qos), opts_.will_retain};
    nodes_.push_back(std::make_unique<Node>(i, std::move(c)));
  }
}

SimRunner::~SimRunner() {
  if (transport_) transport_->close();
  uv_run(&loop_, UV_RUN_NOWAIT);
  uv_loop_close(&loop_);
  if (ack_log_) std::fclose(ack_log_);
}

Millis SimRunner::now() const {
  return Millis(static_cast<std::int64_t>(uv_now(&loop_)));
}

int SimRunner::run() {
  uv_timer_init(&loop_, &timer_);
  timer_.data = this;
  uv_signal_init(&loop_, &sigint_);
  uv_signal_init(&loop_, &sigterm_);
  sigint_.data = sigterm_.data = this;
  auto on_signal = [](uv_signal_t* h, int) {
    auto* self = static_cast<SimRunner*>(h->data);
    if (++self->signals_ > 1) return self->stop_loop();  // a second Ctrl-C: stop now
    self->begin_finish(self->now());
    self->schedule();
  };
  uv_signal_start(&sigint_, on_signal, SIGINT);
  uv_signal_start(&sigterm_, on_signal, SIGTERM);
  started_at_ = now();
  if (opts_.tagged) {
    const auto epoch_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now().time_since_epoch());
    run_tag_ = std::to_string(getpid()) + "." + std::to_string(epoch_ms.count());
  }
  if (!opts_.ack_log.empty()) {
    ack_log_ = std::fopen(opts_.ack_log.c_str(), "a");
    // Line by line: a node killed with SIGKILL must not take acknowledged readings' lines with it.
    if (ack_log_)
      std::setvbuf(ack_log_, nullptr, _IOLBF, 0);
    else
      std::fprintf(stderr, "mqttsn-sim: --ack-log %s: cannot open\n", opts_.ack_log.c_str());
  }

  if ((!opts_.ack_log.empty() && !ack_log_) || !open_transport()) {
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&sigint_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&sigterm_), nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
    return 2;
  }
  schedule();
  uv_run(&loop_, UV_RUN_DEFAULT);

  if (!started_) {
    std::fprintf(stderr, "sim: FAILED: the gateway never sent a frame to the coordinator\n");
    ++totals_.failures;
  }
  std::printf(
      "sim: nodes=%zu published=%llu acked=%llu received=%llu failures=%llu\n", nodes_.size(),
      static_cast<unsigned long long>(totals_.published), static_cast<unsigned long long>(totals_.acked),
      static_cast<unsigned long long>(totals_.received), static_cast<unsigned long long>(totals_.failures));
  std::fflush(stdout);
  return totals_.failures == 0 && totals_.acked == totals_.published ? 0 : 1;
}

bool SimRunner::open_transport() {
  std::string err;
  if (!opts_.udp.empty()) {
    sockaddr_storage gw{};
    if (!resolve_host_port(opts_.udp, gw, err)) {
      std::fprintf(stderr, "mqttsn-sim: --udp: %s\n", err.c_str());
      return false;
    }
    if (opts_.dtls()) {
      auto contexts = make_dtls_contexts(opts_.dtls_psk, opts_.dtls_cert, opts_.dtls_key, opts_.dtls_ca,
                                         nodes_.size(), err);
      auto dtls = contexts.empty()
                      ? nullptr
                      : std::make_unique<DtlsTransport>(&loop_, std::move(contexts), nodes_.size());
      if (!dtls || !dtls->open(gw, err)) {
        std::fprintf(stderr, "mqttsn-sim: DTLS: %s\n", err.c_str());
        return false;
      }
      transport_ = std::move(dtls);
      std::printf("sim: %zu node(s) over DTLS to %s\n", nodes_.size(), opts_.udp.c_str());
    } else {
      auto udp = std::make_unique<UdpTransport>(&loop_, nodes_.size());
      if (!udp->open(gw, err)) {
        std::fprintf(stderr, "mqttsn-sim: UDP: %s\n", err.c_str());
        return false;
      }
      transport_ = std::move(udp);
      std::printf("sim: %zu node(s) over UDP to %s\n", nodes_.size(), opts_.udp.c_str());
    }
  } else {
    CoordinatorConfig cfg;
    cfg.mode = opts_.api == 1 ? radio::xbee::ApiMode::unescaped : radio::xbee::ApiMode::escaped;
    std::vector<XbeeNodeAddress> addrs;
    for (std::size_t i = 0; i < nodes_.size(); ++i) addrs.push_back(default_node_address(i));
    auto pty = std::make_unique<XbeeCoordinatorPty>(&loop_, cfg, std::move(addrs));
    if (!pty->open(opts_.link, err)) {
      std::fprintf(stderr, "mqttsn-sim: pty: %s\n", err.c_str());
      return false;
    }
    if (opts_.wait_for_gateway) {
      pty->set_on_host_frames([this] {
        if (!started_) {
          start_nodes();
          schedule();
        }
      });
    }
    if (opts_.verbose) {
      pty->set_on_host_bytes(
          [](std::span<const std::uint8_t> b) { std::printf("serial <- %s\n", hex(b).c_str()); });
    }
    // The one line a user (or a script) needs: the device the gateway should open.
    std::printf("sim: XBee coordinator (API %d) with %zu node(s) on %s%s%s\n", opts_.api, nodes_.size(),
                pty->device_path().c_str(), opts_.link.empty() ? "" : " linked as ", opts_.link.c_str());
    transport_ = std::move(pty);
  }
  std::fflush(stdout);
  transport_->set_receiver([this](std::size_t i, Bytes d) { on_datagram(i, d); });
  if (!opts_.udp.empty() || !opts_.wait_for_gateway) start_nodes();
  return true;
}

void SimRunner::start_nodes() {
  started_ = true;
  const Millis t = now();
  // Spread the starts (and so the readings) over up to one period, at most 1 s, so N nodes do not
  // all transmit in the same millisecond.
  const Millis spread = std::min(opts_.period, Millis(1000));
  for (auto& n : nodes_) {
    n->phase = Phase::starting;
    n->start_at = t + spread * static_cast<std::int64_t>(n->index) / static_cast<std::int64_t>(nodes_.size());
  }
}

void SimRunner::on_datagram(std::size_t index, Bytes d) {
  if (index >= nodes_.size()) return;
  Node& n = *nodes_[index];
  if (opts_.verbose) std::printf("%s <- %-12s %s\n", n.name.c_str(), type_name(d), hex(d).c_str());
  const Millis t = now();
  n.client.on_datagram(d, t);
  handle_events(n, t);
  drive(n, t);
  flush(n);
  schedule();
}

void SimRunner::flush(Node& n) {
  for (auto& d : n.client.take_datagrams()) {
    if (opts_.verbose)
      std::printf("%s -> %-12s %s\n", n.name.c_str(), type_name(d.bytes), hex(d.bytes).c_str());
    transport_->send(n.index, d);
  }
}

void SimRunner::failure(const Node& n, const std::string& what) {
  ++totals_.failures;
  std::fprintf(stderr, "%s: FAILED: %s\n", n.name.c_str(), what.c_str());
}

void SimRunner::handle_events(Node& n, Millis t) {
  for (auto& e : n.client.take_events()) {
    switch (e.kind) {
      case EventKind::connected:
        n.reconnects_in_a_row = 0;
        if (!n.session_set_up || n.last_connect_clean) {
          // A new (clean) session: subscribe to the command topic and register the topics once.
          n.session_set_up = true;
          if (!opts_.subscribe.empty())
            n.client.subscribe(TopicRef::named(expand_pattern(opts_.subscribe, n.number)),
                               static_cast<QoS>(opts_.sub_qos), t);
          if (!opts_.predefined_id && opts_.short_topic.empty())
            for (auto& p : opts_.topics) n.client.register_topic(expand_pattern(p, n.number), t);
        }
        break;
      case EventKind::published:
        ++totals_.acked;
        if (ack_log_ && e.qos > 0)
          std::fprintf(ack_log_, "%s %s\n", e.topic.c_str(), printable(e.payload).c_str());
        break;
      case EventKind::message:
        ++totals_.received;
        std::printf("%s <- %s: %s\n", n.name.c_str(), e.topic.c_str(), printable(e.payload).c_str());
        break;
      case EventKind::failure:
        failure(n, e.what);
        break;
      case EventKind::disconnected:
        if (e.unsolicited) failure(n, "the gateway sent DISCONNECT");
        break;
      default:
        break;
    }
    if (opts_.verbose && e.kind != EventKind::message && e.kind != EventKind::failure)
      std::printf("%s: %s %s\n", n.name.c_str(), to_string(e.kind), e.topic.c_str());
  }
}

void SimRunner::publish_next(Node& n, Millis t) {
  const std::uint64_t seq = n.sent++;
  TopicRef topic;
  if (opts_.predefined_id)
    topic = TopicRef::predefined(*opts_.predefined_id);
  else if (!opts_.short_topic.empty())
    topic = TopicRef::short_name(opts_.short_topic);
  else
    topic = TopicRef::named(expand_pattern(opts_.topics[seq % opts_.topics.size()], n.number));
  std::string reading;
  if (opts_.tagged) {
    reading = n.name + " " + run_tag_ + " " + std::to_string(seq);
  } else {
    // A plausible temperature that changes from reading to reading and from node to node.
    const int tenths = 150 + static_cast<int>((n.number * 37 + seq * 13) % 150);
    reading = std::to_string(tenths / 10) + "." + std::to_string(tenths % 10);
  }
  ++totals_.published;
  n.client.publish(std::move(topic), {reading.begin(), reading.end()}, static_cast<QoS>(opts_.qos),
                   opts_.retain, t);
}

void SimRunner::drive(Node& n, Millis t) {
  n.client.on_tick(t);
  handle_events(n, t);
  const bool more = opts_.count == 0 || n.sent < opts_.count;
  const bool need_connection = needs_connection();
  const bool sleeper = opts_.sleep.count() > 0;
  using S = NodeClient::State;
  const S st = n.client.state();

  if (finishing_ && (n.phase == Phase::starting || n.phase == Phase::running || n.phase == Phase::sleeping)) {
    if (n.phase == Phase::starting || !need_connection) {
      n.phase = Phase::done;
    } else if (n.client.idle() && st != S::going_to_sleep && st != S::awake && st != S::connecting) {
      n.client.disconnect(t);
      n.phase = Phase::finishing;
    }
  }

  switch (n.phase) {
    case Phase::idle:
    case Phase::done:
      break;
    case Phase::starting:
      if (t < n.start_at) break;
      if (opts_.searchgw) n.client.search_gateway(opts_.radius, t);
      if (need_connection) {
        n.last_connect_clean = opts_.clean_session;
        n.client.connect(t);
      }
      n.next_publish = t;
      n.phase = Phase::running;
      [[fallthrough]];
    case Phase::running:
      if (need_connection && (st == S::lost || st == S::disconnected) && n.client.idle()) {
        // The session broke (failure already counted): try again after T_RETRY, like a device would.
        if (!n.reconnect_at) n.reconnect_at = t + opts_.t_retry;
        if (t >= *n.reconnect_at) {
          n.reconnect_at.reset();
          if (opts_.count > 0 && ++n.reconnects_in_a_row > kMaxReconnectsForCount) {
            // A finite run must end: give up on a gateway that keeps not answering.
            failure(n, "giving up after " + std::to_string(kMaxReconnectsForCount) + " reconnects");
            n.phase = Phase::done;
            break;
          }
          n.last_connect_clean = opts_.clean_session;
          n.client.connect(t);
        }
        break;
      }
      if (need_connection && !n.session_set_up) break;  // the first reading waits for the CONNACK
      if (more && t >= n.next_publish) {
        publish_next(n, t);
        n.next_publish = std::max(n.next_publish + opts_.period, t);
        if (sleeper) {
          n.client.sleep(static_cast<std::uint16_t>(opts_.sleep.count() / 1000), t);
          n.next_wake = t + opts_.awake_every;
          n.phase = Phase::sleeping;
        }
      } else if (!more && n.client.idle()) {
        n.client.disconnect(t);
        n.phase = Phase::finishing;
      }
      break;
    case Phase::sleeping:
      if (st == S::lost || st == S::disconnected) {
        n.phase = Phase::running;  // reconnects from there
        break;
      }
      if (st != S::asleep || !n.client.idle()) break;
      if (!more) {
        n.client.disconnect(t);
        n.phase = Phase::finishing;
      } else if (t >= n.next_publish) {
        // To publish, a sleeping client connects again; CleanSession=0 keeps its subscriptions.
        n.last_connect_clean = false;
        n.client.connect(t, false);
        n.phase = Phase::running;
        drive(n, t);  // queue the reading right behind the CONNECT
        return;
      } else if (t >= n.next_wake) {
        n.client.wake(t);
        n.next_wake = t + opts_.awake_every;
      }
      break;
    case Phase::finishing:
      if (n.client.idle() && st != S::disconnecting) n.phase = Phase::done;
      break;
  }
  handle_events(n, t);
}

void SimRunner::tick() {
  const Millis t = now();
  if (!finishing_ && opts_.duration.count() > 0 && t >= started_at_ + opts_.duration) begin_finish(t);
  for (auto& n : nodes_) {
    drive(*n, t);
    flush(*n);
  }
  if (finishing_ && t >= finish_deadline_) {
    for (auto& n : nodes_) n->phase = Phase::done;  // gave the last acks their full retry budget
  }
  if (started_ && all_done()) return stop_loop();
  if (!started_ && finishing_) return stop_loop();
  schedule();
}

void SimRunner::begin_finish(Millis t) {
  if (finishing_) return;
  finishing_ = true;
  finish_deadline_ = t + opts_.t_retry * (opts_.n_retry + 1) + Millis(1000);
}

bool SimRunner::needs_connection() const {
  return opts_.qos >= 0 || !opts_.subscribe.empty() || !opts_.will_topic.empty();
}

bool SimRunner::all_done() const {
  return std::all_of(nodes_.begin(), nodes_.end(), [](const auto& n) { return n->phase == Phase::done; });
}

void SimRunner::schedule() {
  if (uv_is_closing(reinterpret_cast<uv_handle_t*>(&timer_))) return;
  const Millis t = now();
  Millis next = t + Millis(3600000);
  auto consider = [&](Millis m) { next = std::min(next, m); };
  if (opts_.duration.count() > 0 && !finishing_) consider(started_at_ + opts_.duration);
  if (finishing_) consider(finish_deadline_);
  const bool more_possible = !finishing_;
  for (auto& n : nodes_) {
    if (auto d = n->client.next_deadline()) consider(*d);
    switch (n->phase) {
      case Phase::starting:
        consider(n->start_at);
        break;
      case Phase::running:
        if (n->reconnect_at) consider(*n->reconnect_at);
        // Before its session is set up a node waits for the CONNACK (an event, not a time).
        if (more_possible && (n->session_set_up || !needs_connection()) && !n->reconnect_at &&
            (opts_.count == 0 || n->sent < opts_.count))
          consider(n->next_publish);
        break;
      case Phase::sleeping:
        // Only an idle sleeper acts on time; until then the gateway's answers drive it.
        if (n->client.state() == NodeClient::State::asleep && n->client.idle()) {
          consider(n->next_wake);
          if (opts_.count == 0 || n->sent < opts_.count) consider(n->next_publish);
        }
        break;
      default:
        break;
    }
  }
  if ((started_ && all_done()) || (!started_ && finishing_)) next = t;
  const auto delay = static_cast<std::uint64_t>(std::max<std::int64_t>(0, (next - t).count()));
  uv_timer_start(
      &timer_, [](uv_timer_t* h) { static_cast<SimRunner*>(h->data)->tick(); }, delay, 0);
}

void SimRunner::stop_loop() {
  uv_timer_stop(&timer_);
  if (transport_) transport_->close();
  for (uv_handle_t* h : {reinterpret_cast<uv_handle_t*>(&timer_), reinterpret_cast<uv_handle_t*>(&sigint_),
                         reinterpret_cast<uv_handle_t*>(&sigterm_)})
    if (!uv_is_closing(h)) uv_close(h, nullptr);
}

}  // namespace mqttsn::sim
