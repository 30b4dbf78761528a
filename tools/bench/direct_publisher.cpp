#include "tools/bench/direct_publisher.hpp"

#include <MQTTAsync.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <thread>
#include <vector>

#include "tools/bench/payload.hpp"
#include "tools/bench/proc_stats.hpp"
#include "tools/bench/stats.hpp"

namespace mqttsn::bench {

namespace {

struct Publisher;

// One in-flight message: handed to Paho as the callback context.
struct Slot {
  Publisher* owner = nullptr;
  std::uint64_t send_ns = 0;
};

struct Publisher {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Slot> slots;
  std::vector<Slot*> free_slots;
  std::vector<std::uint64_t> latencies;
  std::uint64_t acked = 0, failed = 0;
  bool record_latency = false;
  int pending_connect = 1;
  std::string connect_error;

  void release(Slot* s, bool ok) {
    const auto now = now_ns();
    std::lock_guard lock(mu);
    if (ok) {
      ++acked;
      if (record_latency) latencies.push_back(now - s->send_ns);
    } else {
      ++failed;
    }
    free_slots.push_back(s);
    cv.notify_all();
  }
  static void on_sent(void* ctx, MQTTAsync_successData*) {
    auto* s = static_cast<Slot*>(ctx);
    s->owner->release(s, true);
  }
  static void on_failed(void* ctx, MQTTAsync_failureData*) {
    auto* s = static_cast<Slot*>(ctx);
    s->owner->release(s, false);
  }
  static void on_connected(void* ctx, MQTTAsync_successData*) {
    auto* p = static_cast<Publisher*>(ctx);
    std::lock_guard lock(p->mu);
    p->pending_connect = 0;
    p->cv.notify_all();
  }
  static void on_connect_failed(void* ctx, MQTTAsync_failureData* f) {
    auto* p = static_cast<Publisher*>(ctx);
    std::lock_guard lock(p->mu);
    p->connect_error = f && f->message ? f->message : "connect failed";
    p->pending_connect = 0;
    p->cv.notify_all();
  }
};

std::uint64_t self_hwm_kb() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10);
  return 0;
}

// Paho C (1.3) leaves Nagle on and offers no option for it. A gateway that wants no 40 ms stalls sets
// TCP_NODELAY on its upstream socket, so the limit gets the same: find this process's TCP socket (the
// only one: the child holds nothing else) and set it. Returns how many sockets were changed.
int set_nodelay_on_tcp_sockets() {
  int changed = 0;
  for (int fd = 3; fd < 1024; ++fd) {
    int type = 0;
    socklen_t len = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM) continue;
    sockaddr_storage peer{};
    socklen_t plen = sizeof peer;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &plen) != 0) continue;
    const int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0) ++changed;
  }
  return changed;
}

}  // namespace

nlohmann::json run_direct_publisher(const Options& o, const std::string& run_id,
                                    const std::atomic<bool>& stop) {
  nlohmann::json out;
  const int window = std::max(1, o.clients * o.window);
  Publisher p;
  p.slots.resize(static_cast<std::size_t>(window));
  for (auto& s : p.slots) {
    s.owner = &p;
    p.free_slots.push_back(&s);
  }
  p.record_latency = o.qos > 0;
  const int qos = std::max(0, o.qos);

  MQTTAsync client = nullptr;
  const std::string uri = "tcp://" + o.broker;
  const std::string id = "bench-direct-" + run_id.substr(0, 8);
  MQTTAsync_create(&client, uri.c_str(), id.c_str(), MQTTCLIENT_PERSISTENCE_NONE, nullptr);
  MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer;
  co.cleansession = 1;
  co.keepAliveInterval = 60;
  co.maxInflight = std::min(window, 65535);
  co.context = &p;
  co.onSuccess = &Publisher::on_connected;
  co.onFailure = &Publisher::on_connect_failed;
  MQTTAsync_connect(client, &co);
  {
    std::unique_lock lock(p.mu);
    p.cv.wait_for(lock, std::chrono::seconds(10), [&] { return p.pending_connect == 0; });
    if (p.pending_connect || !p.connect_error.empty()) {
      out["error"] = "direct publisher: " + (p.connect_error.empty() ? "connect timed out" : p.connect_error);
      lock.unlock();
      MQTTAsync_destroy(&client);
      return out;
    }
  }
  out["tcp_nodelay"] = o.direct_nodelay && set_nodelay_on_tcp_sockets() > 0;
  // Topic names are built once, as the gateway registers them once.
  std::vector<std::vector<std::string>> topics(static_cast<std::size_t>(std::max(1, o.clients)));
  for (int c = 0; c < o.clients; ++c)
    for (int t = 0; t < o.topics_per_client; ++t)
      topics[static_cast<std::size_t>(c)].push_back(bench_topic(o, run_id, c, t));

  std::vector<std::uint8_t> payload(static_cast<std::size_t>(o.payload));
  std::vector<std::uint32_t> next_seq(static_cast<std::size_t>(std::max(1, o.clients)), 0);
  const auto cpu0 = self_cpu_us();
  const auto start = now_ns();
  const auto stop_at = o.duration_s > 0 ? start + static_cast<std::uint64_t>(o.duration_s * 1e9) : UINT64_MAX;
  const auto deadline = start + static_cast<std::uint64_t>(o.timeout_s * 1e9);
  std::uint64_t published = 0, first_send = 0, last_send = 0, send_errors = 0;
  for (std::uint64_t i = 0; !stop; ++i) {
    if (o.duration_s <= 0 && i >= o.count) break;
    auto now = now_ns();
    if (now >= stop_at || now >= deadline) break;
    if (o.rate > 0) {  // pace: message i is due at start + i / rate
      const auto due = start + static_cast<std::uint64_t>(static_cast<double>(i) * 1e9 / o.rate);
      if (due > now) std::this_thread::sleep_for(std::chrono::nanoseconds(due - now));
    }
    Slot* slot = nullptr;
    {
      std::unique_lock lock(p.mu);
      p.cv.wait(lock, [&] { return !p.free_slots.empty(); });
      slot = p.free_slots.back();
      p.free_slots.pop_back();
    }
    const auto c = static_cast<int>(i % static_cast<std::uint64_t>(std::max(1, o.clients)));
    const auto seq = next_seq[static_cast<std::size_t>(c)]++;
    now = now_ns();
    slot->send_ns = now;
    encode_payload({static_cast<std::uint32_t>(c), seq, now}, payload);
    MQTTAsync_message msg = MQTTAsync_message_initializer;
    msg.payload = payload.data();
    msg.payloadlen = static_cast<int>(payload.size());
    msg.qos = qos;
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    ro.context = slot;
    ro.onSuccess = &Publisher::on_sent;
    ro.onFailure = &Publisher::on_failed;
    const auto& names = topics[static_cast<std::size_t>(c)];
    const auto& topic = names[seq % names.size()];
    if (MQTTAsync_sendMessage(client, topic.c_str(), &msg, &ro) != MQTTASYNC_SUCCESS) {
      ++send_errors;
      std::lock_guard lock(p.mu);
      p.free_slots.push_back(slot);
      continue;
    }
    ++published;
    if (first_send == 0) first_send = now;
    last_send = now;
  }
  {  // Wait for every callback: all slots back.
    std::unique_lock lock(p.mu);
    p.cv.wait_until(lock, std::chrono::steady_clock::now() + std::chrono::seconds(30),
                    [&] { return p.free_slots.size() == p.slots.size(); });
  }
  const auto end = now_ns();
  const auto cpu1 = self_cpu_us();

  std::vector<std::uint64_t> lat;
  {
    std::lock_guard lock(p.mu);
    lat = p.latencies;
    out["acked"] = p.acked;
    out["failed"] = p.failed;
  }
  out["published"] = published;
  out["send_errors"] = send_errors;
  out["cpu_us"] = cpu1 - cpu0;
  out["elapsed_ns"] = end - start;
  out["first_send_ns"] = first_send;
  out["last_send_ns"] = last_send;
  out["hwm_kb"] = self_hwm_kb();
  const auto s = summarise(std::move(lat));
  out["ack_latency_us"] = {{"count", s.count},  {"p50", s.p50_us}, {"p99", s.p99_us},
                           {"p999", s.p999_us}, {"max", s.max_us}, {"mean", s.mean_us}};

  MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;
  d.timeout = 1000;
  MQTTAsync_disconnect(client, &d);
  for (int k = 0; k < 100 && MQTTAsync_isConnected(client); ++k)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  MQTTAsync_destroy(&client);
  return out;
}

}  // namespace mqttsn::bench
