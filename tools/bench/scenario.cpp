#include "tools/bench/scenario.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>

#include "gateway/core/codec.hpp"
#include "tools/bench/gateway_status.hpp"
#include "tools/bench/payload.hpp"
#include "tools/bench/proc_stats.hpp"
#include "tools/bench/stats.hpp"
#include "tools/bench/subscriber.hpp"
#include "tools/bench/sync_tracer.hpp"
#include "tools/bench/udp_load.hpp"
#include "tools/bench/xbee_load.hpp"

namespace mqttsn::bench {
namespace {

using nlohmann::json;

json latency_json(const LatencySummary& s) {
  return {{"count", s.count},  {"p50", s.p50_us}, {"p99", s.p99_us},
          {"p999", s.p999_us}, {"max", s.max_us}, {"mean", s.mean_us}};
}

json proc_json(const std::optional<ProcSample>& before, const std::optional<ProcSample>& after) {
  if (!before || !after) return nullptr;
  const double secs = static_cast<double>(after->taken_ns - before->taken_ns) / 1e9;
  return {
      {"cpu_us", after->cpu_us - before->cpu_us},
      {"rss_kb_before", before->rss_kb},
      {"rss_kb", after->rss_kb},
      {"hwm_kb", after->hwm_kb},
      {"threads", after->threads},
      {"ctx_switches", after->ctx_switches - before->ctx_switches},
      {"wakeups_per_s",
       secs > 0 ? static_cast<double>(after->ctx_switches - before->ctx_switches) / secs : 0.0},
      {"window_s", secs},
      {"write_bytes", before->io && after->io ? json(after->write_bytes - before->write_bytes) : json()},
      {"cancelled_write_bytes",
       before->io && after->io ? json(after->cancelled_write_bytes - before->cancelled_write_bytes) : json()},
      {"wchar", before->io && after->io ? json(after->wchar - before->wchar) : json()}};
}

std::optional<ProcSample> sample(pid_t pid) {
  return pid > 0 ? sample_process(pid) : std::nullopt;
}

// x / y, or null when either side is missing or y is zero.
json ratio(const json& x, const json& y) {
  if (!x.is_number() || !y.is_number()) return nullptr;
  const double d = y.get<double>();
  if (d == 0) return nullptr;
  return x.get<double>() / d;
}

json options_json(const Options& o) {
  return {{"kind", o.kind == ScenarioKind::publish         ? "publish"
                   : o.kind == ScenarioKind::connect_storm ? "connect-storm"
                                                           : "idle"},
          {"transport", o.xbee_pty.empty() ? "udp" : "xbee-pty"},
          {"idle_s", o.idle_s},
          {"qos", o.qos},
          {"clients", o.clients},
          {"topics_per_client", o.topics_per_client},
          {"window", o.window},
          {"count", o.count},
          {"duration_s", o.duration_s},
          {"rate", o.rate},
          {"payload", o.payload},
          {"retry_ms", o.retry_ms},
          {"topic_mode", topic_mode_name(o.topic_mode)},
          {"gateway_env", o.gateway_env},
          {"broker_outage_s", o.broker_outage_s},
          {"strace_syncs", o.strace_syncs}};
}

// x / n, or null when x is not a number or n is 0.
json per(const json& x, std::uint64_t n) {
  if (!x.is_number() || n == 0) return nullptr;
  return x.get<double>() / static_cast<double>(n);
}

// Stops our own mosquitto `at` seconds after start() for `length` seconds, then starts it again on
// the same port with the same configuration. Driven by tick() from the load's loop, never blocking
// it; not from a thread of its own: a child's PR_SET_PDEATHSIG fires when the thread that forked it
// ends, which would take the restarted broker down with that thread.
class BrokerOutage {
 public:
  BrokerOutage(const Options& o, Environment& env) : o_(o), env_(env) {}
  void start() {
    const double at =
        o_.broker_outage_at_s >= 0 ? o_.broker_outage_at_s : (o_.duration_s - o_.broker_outage_s) / 2;
    stop_at_ = now_ns() + static_cast<std::uint64_t>(std::max(0.0, at) * 1e9);
    state_ = State::waiting;
  }
  void tick() {
    const auto now = now_ns();
    switch (state_) {
      case State::waiting:
        if (now < stop_at_) return;
        ::kill(env_.mosquitto.pid(), SIGTERM);  // mosquitto saves its sessions and exits
        stopped_ns_ = now;
        state_ = State::stopping;
        return;
      case State::stopping:
        if (env_.mosquitto.running()) {
          if (now - stopped_ns_ > 5'000'000'000ULL) env_.mosquitto.stop();  // SIGTERM again, then SIGKILL
          return;
        }
        exited_ns_ = now;
        state_ = State::down;
        return;
      case State::down:
        if (now < stopped_ns_ + static_cast<std::uint64_t>(o_.broker_outage_s * 1e9)) return;
        {
          const int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
          error_ = env_.mosquitto.spawn({o_.mosquitto_bin, "-c", env_.dir + "/mosquitto.conf"}, devnull, -1);
          if (devnull >= 0) close(devnull);
        }
        restarted_ns_ = now;
        state_ = State::back;
        return;
      case State::idle:
      case State::back:
        return;
    }
  }
  // When the publishing is over: an outage not begun by then is called off, one under way runs to its
  // end. Returns when the broker listens again.
  void finish(const std::atomic<bool>& stop) {
    if (state_ == State::waiting) state_ = State::idle;
    while (state_ != State::idle && state_ != State::back && !stop) {
      tick();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (state_ == State::back && error_.empty()) {
      const auto port = std::atoi(env_.broker.substr(env_.broker.rfind(':') + 1).c_str());
      if (!wait_tcp_port(port, 5)) error_ = "mosquitto did not listen again on port " + std::to_string(port);
    }
  }
  json report(std::uint64_t first_send_ns) const {
    auto rel = [&](std::uint64_t t) {
      return t && first_send_ns ? json(static_cast<double>(t - first_send_ns) / 1e9) : json();
    };
    json j = {
        {"length_s", o_.broker_outage_s},
        {"stopped_at_s", rel(stopped_ns_)},
        {"exited_at_s", rel(exited_ns_)},
        {"restarted_at_s", rel(restarted_ns_)},
        {"down_s", stopped_ns_ && restarted_ns_ ? json(static_cast<double>(restarted_ns_ - stopped_ns_) / 1e9)
                                                : json()}};
    if (!stopped_ns_) j["error"] = "the publishing ended before the outage was due";
    if (!error_.empty()) j["error"] = "restart: " + error_;
    return j;
  }

 private:
  enum class State { idle, waiting, stopping, down, back };
  const Options& o_;
  Environment& env_;
  State state_ = State::idle;
  std::uint64_t stop_at_ = 0, stopped_ns_ = 0, exited_ns_ = 0, restarted_ns_ = 0;
  std::string error_;
};

// Delivered-side figures shared by both phases.
void delivery_json(json& j, std::uint64_t published, std::uint64_t first_send, const SubscriberStats& st,
                   std::vector<std::uint64_t> e2e) {
  j["published"] = published;
  j["delivered"] = st.unique;
  j["lost"] = published > st.unique ? published - st.unique : 0;
  j["duplicates"] = st.duplicates;
  j["malformed"] = st.malformed;
  const double span =
      st.last_rx_ns > first_send && first_send ? static_cast<double>(st.last_rx_ns - first_send) / 1e9 : 0;
  j["elapsed_s"] = span;
  j["rate"] = span > 0 ? static_cast<double>(st.unique) / span : 0.0;
  j["e2e_latency_us"] = latency_json(summarise(std::move(e2e)));
  if (st.connection_lost) j["subscriber_connection_lost"] = true;
}

// Load: UdpLoad (N client sockets) or XbeeLoad (N nodes behind a coordinator on a pty).
template <class Load>
json gateway_publish_phase(const Options& o, Environment& env, const std::string& run,
                           const std::atomic<bool>& stop) {
  json j;
  Subscriber sub(env.broker, "bench-sub-" + run);
  if (auto err = sub.start({bench_filter(o, run)}, std::max(0, o.qos), 10, o.persistent_subscriber);
      !err.empty())
    return {{"error", err}};
  Load load(o, run, stop);
  const auto before_open = sample(env.gateway_pid);
  // 0: not known (no status socket). A plain number: GCC takes an optional here for uninitialised.
  const std::uint64_t heap_before_open =
      env.status_socket.empty() ? 0 : heap_in_use(env.status_socket).value_or(0);
  if (auto err = load.open(); !err.empty()) return {{"error", err}};
  if constexpr (std::is_same_v<Load, UdpLoad>) {
    if (!o.dtls_psk.empty() || !o.dtls_cert.empty()) {
      // Every client's handshake, all at once: the rate, and what the associations cost in memory.
      const auto after_open = sample(env.gateway_pid);
      const double secs = load.dtls_handshake_seconds();
      j["dtls"] = {{"handshakes", o.clients},
                   {"seconds", secs},
                   {"handshakes_per_s", secs > 0 ? o.clients / secs : 0.0}};
      if (before_open && after_open)
        j["dtls"]["rss_bytes_per_association"] =
            (static_cast<double>(after_open->rss_kb) - static_cast<double>(before_open->rss_kb)) * 1024.0 /
            o.clients;
      // The heap an association holds right after its handshake (RSS growth also counts what the
      // allocator kept of the handshakes' transient buffers).
      const std::uint64_t heap_after = heap_before_open > 0 ? heap_in_use(env.status_socket).value_or(0) : 0;
      if (heap_after > 0)
        j["dtls"]["heap_bytes_per_association"] =
            (static_cast<double>(heap_after) - static_cast<double>(heap_before_open)) / o.clients;
    }
  }
  const auto times = load.connect_all(30);
  j["clients_ready"] = times.registered;
  // What a connected client costs the gateway's heap (its session, topic ids, and on a DTLS link its
  // association after it carried messages), compared side by side between links.
  if (heap_before_open > 0 && o.clients > 0) {
    if (const std::uint64_t heap = heap_in_use(env.status_socket).value_or(0); heap > 0)
      j["heap_bytes_per_client"] =
          (static_cast<double>(heap) - static_cast<double>(heap_before_open)) / o.clients;
  }
  if (times.registered < o.clients) j["setup_failed"] = o.clients - times.registered;
  if (times.registered == 0) return {{"error", "no client got through CONNECT/REGISTER"}};

  // The measuring window: strace attaches first (it takes a moment), then the counters are read.
  SyncTracer tracer;
  json strace_result;
  if (o.strace_syncs) {
    if (env.gateway_pid <= 0)
      strace_result = {{"error", "no gateway pid to attach to"}};
    else if (auto err = tracer.start(o.strace_bin, env.gateway_pid, env.dir); !err.empty())
      strace_result = {{"error", err}};
  }
  const json store0 = env.status_socket.empty() ? json() : store_counters(env.status_socket);
  const auto udp0 = read_udp_counters();
  const auto g0 = sample(env.gateway_pid);
  BrokerOutage outage(o, env);
  std::function<void()> tick;
  if (o.broker_outage_s > 0) {
    outage.start();
    tick = [&outage] { outage.tick(); };
  }
  if constexpr (std::is_same_v<Load, UdpLoad>)
    load.publish(o.timeout_s, tick);
  else
    load.publish(o.timeout_s);
  outage.finish(stop);
  const auto& c = load.counters();
  sub.wait_for(c.published, o.drain_ms, o.timeout_s, &stop);
  if (o.settle_ms > 0 && !stop) std::this_thread::sleep_for(std::chrono::milliseconds(o.settle_ms));
  const auto g1 = sample(env.gateway_pid);
  const auto udp1 = read_udp_counters();
  const json store1 = env.status_socket.empty() ? json() : store_counters(env.status_socket);
  if (o.strace_syncs && strace_result.is_null()) strace_result = tracer.stop();

  delivery_json(j, c.published, load.first_send_ns(), sub.stats(), sub.take_latencies());
  if (o.qos > 0) j["ack_latency_us"] = latency_json(summarise(load.take_ack_latencies()));
  if constexpr (std::is_same_v<Load, UdpLoad>) {
    if (o.qos > 0) {
      // A loss that counts: acknowledged to its node, and never at the broker's subscriber.
      const auto acked = load.take_acked_keys();
      j["acked"] = acked.size();
      j["unacked"] = c.published - std::min<std::uint64_t>(c.published, acked.size());
      j["lost_acked"] = sub.count_missing(acked);
    }
  }
  {
    const auto st = sub.stats();
    if (o.persistent_subscriber)
      j["subscriber"] = {{"connection_losses", st.connection_losses}, {"reconnects", st.reconnects}};
  }
  if (o.broker_outage_s > 0) j["broker_outage"] = outage.report(load.first_send_ns());
  json client = json::object();
  static_cast<const ClientCounters&>(c).for_each(
      [&](std::string_view name, std::uint64_t v) { client[std::string(name)] = v; });
  j["client"] = client;
  if constexpr (std::is_same_v<Load, XbeeLoad>)
    j["xbee"] = {{"coordinator_frame_errors", load.frame_errors()}, {"backlog_drops", load.backlog_drops()}};
  j["udp_rcvbuf_errors"] = udp1.rcvbuf_errors - udp0.rcvbuf_errors;  // system-wide, during the phase
  j["udp_in_errors"] = udp1.in_errors - udp0.in_errors;
  j["proc"] = proc_json(g0, g1);
  if (j["proc"].is_object() && j["delivered"].get<std::uint64_t>() > 0)
    j["cpu_us_per_msg"] = j["proc"]["cpu_us"].get<double>() / j["delivered"].get<double>();
  // The gateway's own account of its store (null counters: this gateway does not report them).
  json store_delta;
  if (env.status_socket.empty()) {
    j["store_status"] = {
        {"error", env.status_error.empty() ? "no status socket (give --status-socket)" : env.status_error}};
  } else if (store0.contains("error") || store1.contains("error")) {
    j["store_status"] = {{"error", store0.contains("error") ? store0["error"] : store1["error"]}};
  } else {
    store_delta = counter_deltas(store0, store1);
    j["store_status"] = {{"state", store1["state"]}, {"delta", store_delta}};
  }
  if (o.strace_syncs) j["strace"] = strace_result;
  // Per reading: a reading is a distinct message a node sent (its retransmissions included in its cost).
  const auto readings = c.published;
  const json proc = j["proc"];
  auto field = [](const json& obj, const char* k) {
    return obj.is_object() && obj.contains(k) ? obj[k] : json();
  };
  j["per_reading"] = {{"readings", readings},
                      {"cpu_us", per(field(proc, "cpu_us"), readings)},
                      {"write_bytes", per(field(proc, "write_bytes"), readings)},
                      {"syncs", per(field(store_delta, "syncs"), readings)},
                      {"store_bytes_written", per(field(store_delta, "bytes_written"), readings)},
                      {"commits", per(field(store_delta, "commits"), readings)},
                      {"syncs_strace", per(field(strace_result, "calls"), readings)}};
  load.disconnect_all();
  return j;
}

json direct_publish_phase(const Options& o, Environment& env, const std::string& run,
                          const std::atomic<bool>& stop) {
  json j;
  Subscriber sub(env.broker, "bench-sub-" + run);
  if (auto err = sub.start({bench_filter(o, run)}, std::max(0, o.qos), 10); !err.empty())
    return {{"error", err}};
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return {{"error", std::string("pipe: ") + std::strerror(errno)}};
  auto num = [](auto v) { return std::to_string(v); };
  std::vector<std::string> argv = {"/proc/self/exe",
                                   "--direct-child",
                                   "--broker",
                                   env.broker,
                                   "--run-id",
                                   run,
                                   "--qos",
                                   num(o.qos),
                                   "--clients",
                                   num(o.clients),
                                   "--window",
                                   num(o.window),
                                   "--count",
                                   num(o.count),
                                   "--duration",
                                   num(o.duration_s),
                                   "--rate",
                                   num(o.rate),
                                   "--payload",
                                   num(o.payload),
                                   "--topics",
                                   num(o.topics_per_client),
                                   "--timeout",
                                   num(o.timeout_s),
                                   "--short-topic",
                                   o.short_topic,
                                   "--predefined-topic",
                                   o.predefined_topic,
                                   "--topic-mode",
                                   topic_mode_name(o.topic_mode)};
  if (!o.direct_nodelay) argv.push_back("--direct-nagle");
  Child child;
  auto err = child.spawn(argv, fds[1], -1);
  close(fds[1]);
  if (!err.empty()) {
    close(fds[0]);
    return {{"error", err}};
  }
  std::string out;
  std::array<char, 4096> buf{};
  for (ssize_t n; (n = read(fds[0], buf.data(), buf.size())) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    out.append(buf.data(), static_cast<std::size_t>(n));
  }
  close(fds[0]);
  const int status = child.wait(10);
  json r = json::parse(out, nullptr, false);
  if (r.is_discarded() || !r.is_object())
    return {{"error", "direct publisher gave no report (exit " + std::to_string(status) + ")"}};
  if (r.contains("error")) return r;
  const auto published = r.value("published", std::uint64_t{0});
  sub.wait_for(published, o.drain_ms, o.timeout_s, &stop);
  delivery_json(j, published, r.value("first_send_ns", std::uint64_t{0}), sub.stats(), sub.take_latencies());
  if (o.qos > 0) j["ack_latency_us"] = r["ack_latency_us"];
  j["failed"] = r["failed"];
  j["tcp_nodelay"] = r["tcp_nodelay"];
  j["proc"] = {{"cpu_us", r["cpu_us"]}, {"hwm_kb", r["hwm_kb"]}};
  if (j["delivered"].get<std::uint64_t>() > 0)
    j["cpu_us_per_msg"] = r["cpu_us"].get<double>() / j["delivered"].get<double>();
  return j;
}

json ratios(const json& g, const json& d) {
  json r;
  auto at = [](const json& j, const char* a, const char* b = nullptr) -> json {
    if (!j.contains(a)) return nullptr;
    if (!b) return j[a];
    return j[a].is_object() && j[a].contains(b) ? j[a][b] : json(nullptr);
  };
  r["rate"] = ratio(at(g, "rate"), at(d, "rate"));
  r["cpu_us_per_msg"] = ratio(at(g, "cpu_us_per_msg"), at(d, "cpu_us_per_msg"));
  for (const char* p : {"p50", "p99", "p999", "max"}) {
    r[std::string("e2e_") + p] = ratio(g["e2e_latency_us"][p], d["e2e_latency_us"][p]);
    if (g.contains("ack_latency_us") && d.contains("ack_latency_us"))
      r[std::string("ack_") + p] = ratio(g["ack_latency_us"][p], d["ack_latency_us"][p]);
  }
  return r;
}

json connect_storm(const Options& o, Environment& env, const std::string& run,
                   const std::atomic<bool>& stop) {
  json j;
  UdpLoad load(o, run, stop);
  if (auto err = load.open(); !err.empty()) return {{"error", err}};
  const auto g0 = sample(env.gateway_pid);
  const auto t = load.connect_all(30);
  const auto g1 = sample(env.gateway_pid);
  auto ms = [](std::uint64_t ns) { return static_cast<double>(ns) / 1e6; };
  std::vector<std::uint64_t> conn, ready;
  for (std::size_t i = 0; i < t.connack_ns.size(); ++i) {
    if (t.connack_ns[i]) conn.push_back(t.connack_ns[i]);
    if (t.ready_ns[i]) ready.push_back(t.ready_ns[i]);
  }
  j["connected"] = t.connected;
  j["registered"] = t.registered;
  j["failed"] = o.clients - t.registered;
  j["connack_us"] = latency_json(summarise(conn));
  j["ready_us"] = latency_json(summarise(ready));
  j["all_connacks_ms"] =
      t.connected == o.clients ? json(ms(*std::max_element(conn.begin(), conn.end()))) : json(nullptr);
  j["all_ready_ms"] =
      t.registered == o.clients ? json(ms(*std::max_element(ready.begin(), ready.end()))) : json(nullptr);
  j["retransmissions"] = load.counters().retransmissions;
  j["send_eagain"] = load.counters().send_eagain;
  j["proc"] = proc_json(g0, g1);
  load.disconnect_all();
  return j;
}

json idle_phase(const Options& o, Environment& env, const std::string& run, const std::atomic<bool>& stop) {
  json j;
  const auto base = sample(env.gateway_pid);
  UdpLoad load(o, run, stop);
  if (o.clients > 0) {
    if (auto err = load.open(); !err.empty()) return {{"error", err}};
    const auto t = load.connect_all(60);
    j["connected"] = t.connected;
    j["registered"] = t.registered;
    j["connect_all_ms"] = static_cast<double>(*std::max_element(t.ready_ns.begin(), t.ready_ns.end())) / 1e6;
  }
  load.idle(1.0);  // let the connect burst settle before the window opens
  const auto g0 = sample(env.gateway_pid);
  load.idle(o.idle_s);
  const auto g1 = sample(env.gateway_pid);
  j["proc"] = proc_json(g0, g1);
  if (base) j["rss_kb_empty"] = base->rss_kb;
  if (base && g1 && o.clients > 0)
    j["rss_bytes_per_client"] =
        (static_cast<double>(g1->rss_kb) - static_cast<double>(base->rss_kb)) * 1024.0 / o.clients;
  if (o.clients > 0) load.disconnect_all();
  return j;
}

std::string log_path(const Options& o, const Environment& env) {
  return o.gateway_log.empty() ? env.dir + "/gateway.log" : o.gateway_log;
}

}  // namespace

Environment::~Environment() {
  gateway.stop();
  mosquitto.stop();
  if (!dir.empty() && !keep_dir) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
}

bool probe_gateway(const std::string& gateway, double timeout_s, const std::string& broker) {
  Endpoint gw;
  if (!resolve_udp(gateway, gw).empty()) return false;
  const int fd = socket(gw.addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  // The gateway accepts CONNECT before its broker connection is up, and drops QoS 0 publishes until
  // it is: so with a broker given, the path counts as ready only when a QoS 0 PUBLISH (short topic
  // "bp") sent through the gateway reaches a subscriber there. Without this, the first ~100 ms of a
  // flat-out QoS 0 run were lost and blamed on the gateway.
  std::unique_ptr<Subscriber> sub;
  if (!broker.empty()) {
    sub = std::make_unique<Subscriber>(broker, "bench-probe-" + std::to_string(getpid()));
    if (!sub->start({"bp"}, 0, timeout_s).empty()) sub.reset();
  }
  bool connected = false, through = !sub;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&gw.addr), gw.len) == 0) {
    std::array<std::uint8_t, 64> tx{}, rx{};
    Connect c;
    c.clean_session = true;
    c.duration = 10;
    c.client_id = "bench-probe";
    const auto n = encode(c, tx).size;
    timeval tv{0, 100'000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const auto end = now_ns() + static_cast<std::uint64_t>(timeout_s * 1e9);
    while (!connected && now_ns() < end) {
      if (send(fd, tx.data(), n, 0) < 0) std::this_thread::sleep_for(std::chrono::milliseconds(200));
      const auto got = recv(fd, rx.data(), rx.size(), 0);
      if (got <= 0) continue;
      const auto r = decode(std::span<const std::uint8_t>(rx.data(), static_cast<std::size_t>(got)));
      // Only "accepted" counts: a gateway still connecting upstream may answer "congestion".
      connected = r && std::holds_alternative<ConnAck>(r.message()) &&
                  std::get<ConnAck>(r.message()).rc == ReturnCode::accepted;
    }
    std::array<std::uint8_t, kMinPayload> payload{};
    for (std::uint32_t seq = 0; connected && !through && now_ns() < end; ++seq) {
      encode_payload({0xFFFFFFFFu, seq, now_ns()}, payload);
      Publish p;
      p.qos = 0;
      p.topic_id_type = TopicIdType::short_name;
      p.topic_id = short_topic_id('b', 'p');
      p.data = payload;
      if (const auto m = encode(p, tx)) send(fd, tx.data(), m.size, 0);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      through = sub->stats().unique > 0;
    }
    if (connected) {
      const auto m = encode(Disconnect{}, tx).size;
      send(fd, tx.data(), m, 0);
    }
  }
  close(fd);
  return connected && through;
}

std::string prepare_environment(const Options& o, Environment& env) {
  char tmpl[] = "/tmp/mqttsn-bench-XXXXXX";
  if (!mkdtemp(tmpl)) return std::string("mkdtemp: ") + std::strerror(errno);
  env.dir = tmpl;
  env.broker = o.broker;
  if (env.broker.empty()) {
    // Persistence only when the broker is restarted: the subscriber's session must survive it.
    if (auto err = start_mosquitto(env.mosquitto, o.mosquitto_bin, env.dir, env.broker, o.mosquitto_port,
                                   o.broker_outage_s > 0, o.mosquitto_lines);
        !err.empty())
      return err;
  }
  env.status_socket = o.status_socket;
  if (env.status_socket.empty() && !o.gateway_config.empty()) {
    if (const auto s = status_socket_from_config(o.gateway_config, env.status_error)) env.status_socket = *s;
  }
  env.gateway_pid = o.gateway_pid;
  if (!o.gateway_cmd.empty()) {
    std::string cmd = "exec " + o.gateway_cmd;
    if (!o.gateway_config.empty()) cmd += " --config '" + o.gateway_config + "'";
    const std::string log = log_path(o, env);
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    auto err = env.gateway.spawn({"/bin/sh", "-c", cmd}, fd, fd, o.gateway_env);
    if (fd >= 0) close(fd);
    if (!err.empty()) return err;
    env.gateway_pid = env.gateway.pid();
  }
  if (!probe_gateway(o.probe_gateway.empty() ? o.gateway : o.probe_gateway, o.gateway_wait_s, env.broker)) {
    env.keep_dir = !o.gateway_cmd.empty() && o.gateway_log.empty();
    env.gateway_error =
        "the gateway does not accept CONNECT at " + o.gateway + " or does not forward to the broker";
    if (!o.gateway_cmd.empty())
      env.gateway_error += " (started with: " + o.gateway_cmd + "; its output: " + log_path(o, env) + ")";
  }
  return {};
}

json run_scenario(const Options& o, Environment& env, const std::atomic<bool>& stop) {
  json j;
  j["scenario"] = o.scenario;
  j["options"] = options_json(o);
  const std::string run = o.run_id;
  if (!env.gateway_error.empty()) {
    j["gateway"] = {{"error", env.gateway_error}};
    if (o.kind == ScenarioKind::publish && o.direct && !stop)
      j["direct"] = direct_publish_phase(o, env, run + "d", stop);
    return j;
  }
  switch (o.kind) {
    case ScenarioKind::publish: {
      j["gateway"] = o.xbee_pty.empty() ? gateway_publish_phase<UdpLoad>(o, env, run + "g", stop)
                                        : gateway_publish_phase<XbeeLoad>(o, env, run + "g", stop);
      if (o.direct && !stop) {
        j["direct"] = direct_publish_phase(o, env, run + "d", stop);
        if (!j["gateway"].contains("error") && !j["direct"].contains("error"))
          j["ratio"] = ratios(j["gateway"], j["direct"]);
      }
      break;
    }
    case ScenarioKind::connect_storm:
      j["gateway"] = connect_storm(o, env, run + "c", stop);
      break;
    case ScenarioKind::idle:
      j["gateway"] = idle_phase(o, env, run + "i", stop);
      break;
  }
  return j;
}

}  // namespace mqttsn::bench
