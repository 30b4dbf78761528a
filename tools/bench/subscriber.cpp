#include "tools/bench/subscriber.hpp"

#include <MQTTAsync.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <span>
#include <thread>
#include <unordered_set>

#include "tools/bench/payload.hpp"

namespace mqttsn::bench {

struct Subscriber::Impl {
  MQTTAsync client = nullptr;
  mutable std::mutex mu;
  std::condition_variable cv;
  int pending = 0;  // 1 while a connect or subscribe waits for its callback
  std::string error;
  SubscriberStats s;
  std::unordered_set<std::uint64_t> seen;
  std::vector<std::uint64_t> latencies;
  std::vector<std::string> filters;  // subscribed again after an automatic reconnect
  int qos = 0;
  bool subscribed = false;

  static int on_message(void* ctx, char* topic, int, MQTTAsync_message* m) {
    const auto now = now_ns();
    auto* self = static_cast<Impl*>(ctx);
    const auto h = decode_payload(std::span<const std::uint8_t>(static_cast<const std::uint8_t*>(m->payload),
                                                                static_cast<std::size_t>(m->payloadlen)));
    {
      std::lock_guard lock(self->mu);
      if (!h) {
        ++self->s.malformed;
      } else if (self->seen.insert((static_cast<std::uint64_t>(h->client) << 32) | h->seq).second) {
        ++self->s.unique;
        if (self->s.first_rx_ns == 0) self->s.first_rx_ns = now;
        self->s.last_rx_ns = now;
        self->latencies.push_back(now > h->send_ns ? now - h->send_ns : 0);
      } else {
        ++self->s.duplicates;
        self->s.last_rx_ns = now;
      }
    }
    MQTTAsync_freeMessage(&m);
    MQTTAsync_free(topic);
    return 1;
  }
  static void on_lost(void* ctx, char*) {
    auto* self = static_cast<Impl*>(ctx);
    std::lock_guard lock(self->mu);
    self->s.connection_lost = true;
    ++self->s.connection_losses;
  }
  // Paho's thread, after a connect: only the automatic reconnects matter (start() subscribes the first
  // time). The broker may have kept the session, or lost it: subscribing again is right either way.
  static void on_connected(void* ctx, char*) {
    auto* self = static_cast<Impl*>(ctx);
    std::vector<std::string> filters;
    int qos = 0;
    {
      std::lock_guard lock(self->mu);
      if (!self->subscribed) return;
      ++self->s.reconnects;
      filters = self->filters;
      qos = self->qos;
    }
    for (const auto& f : filters) {
      MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
      MQTTAsync_subscribe(self->client, f.c_str(), qos, &ro);
    }
  }
  static void on_ok(void* ctx, MQTTAsync_successData*) { static_cast<Impl*>(ctx)->done(""); }
  static void on_fail(void* ctx, MQTTAsync_failureData* f) {
    static_cast<Impl*>(ctx)->done(f && f->message ? f->message
                                                  : "failed (rc " + std::to_string(f ? f->code : 0) + ")");
  }
  void done(const std::string& err) {
    std::lock_guard lock(mu);
    if (!err.empty()) error = err;
    pending = 0;
    cv.notify_all();
  }
  void set_pending() {
    std::lock_guard lock(mu);
    pending = 1;
    error.clear();
  }
  std::string wait(double timeout_s) {
    std::unique_lock lock(mu);
    if (!cv.wait_for(lock, std::chrono::duration<double>(timeout_s), [&] { return pending == 0; }))
      return "timed out";
    return error;
  }
};

Subscriber::Subscriber(const std::string& broker, const std::string& client_id)
    : impl_(std::make_unique<Impl>()) {
  const std::string uri = "tcp://" + broker;
  MQTTAsync_create(&impl_->client, uri.c_str(), client_id.c_str(), MQTTCLIENT_PERSISTENCE_NONE, nullptr);
  MQTTAsync_setCallbacks(impl_->client, impl_.get(), &Impl::on_lost, &Impl::on_message, nullptr);
}

Subscriber::~Subscriber() {
  if (!impl_->client) return;
  if (MQTTAsync_isConnected(impl_->client)) {
    MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;
    d.timeout = 1000;
    MQTTAsync_disconnect(impl_->client, &d);
    for (int i = 0; i < 100 && MQTTAsync_isConnected(impl_->client); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  MQTTAsync_destroy(&impl_->client);
}

std::string Subscriber::start(const std::vector<std::string>& filters, int qos, double timeout_s,
                              bool persistent) {
  auto& s = *impl_;
  MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer;
  co.keepAliveInterval = 60;
  co.cleansession = persistent ? 0 : 1;
  if (persistent) {
    co.automaticReconnect = 1;
    co.minRetryInterval = 1;
    co.maxRetryInterval = 2;
    MQTTAsync_setConnected(s.client, &s, &Impl::on_connected);
  }
  co.context = &s;
  co.onSuccess = &Impl::on_ok;
  co.onFailure = &Impl::on_fail;
  s.set_pending();
  if (const int rc = MQTTAsync_connect(s.client, &co); rc != MQTTASYNC_SUCCESS)
    return "subscriber connect: rc " + std::to_string(rc);
  if (auto err = s.wait(timeout_s); !err.empty()) return "subscriber connect: " + err;
  for (const auto& f : filters) {
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    ro.context = &s;
    ro.onSuccess = &Impl::on_ok;
    ro.onFailure = &Impl::on_fail;
    s.set_pending();
    if (const int rc = MQTTAsync_subscribe(s.client, f.c_str(), qos, &ro); rc != MQTTASYNC_SUCCESS)
      return "subscribe " + f + ": rc " + std::to_string(rc);
    if (auto err = s.wait(timeout_s); !err.empty()) return "subscribe " + f + ": " + err;
  }
  std::lock_guard lock(s.mu);
  s.filters = filters;
  s.qos = qos;
  s.subscribed = true;
  return {};
}

void Subscriber::reset() {
  std::lock_guard lock(impl_->mu);
  impl_->s = {};
  impl_->seen.clear();
  impl_->latencies.clear();
}

SubscriberStats Subscriber::stats() const {
  std::lock_guard lock(impl_->mu);
  return impl_->s;
}

std::vector<std::uint64_t> Subscriber::take_latencies() {
  std::lock_guard lock(impl_->mu);
  return std::move(impl_->latencies);
}

std::uint64_t Subscriber::count_missing(const std::vector<std::uint64_t>& keys) const {
  std::lock_guard lock(impl_->mu);
  std::uint64_t n = 0;
  for (const auto k : keys) n += impl_->seen.count(k) == 0 ? 1 : 0;
  return n;
}

void Subscriber::wait_for(std::uint64_t expected, int drain_ms, double timeout_s,
                          const std::atomic<bool>* stop) const {
  const auto start = now_ns();
  const auto deadline = start + static_cast<std::uint64_t>(timeout_s * 1e9);
  const auto drain = static_cast<std::uint64_t>(drain_ms) * 1'000'000ULL;
  for (;;) {
    const auto st = stats();
    const auto now = now_ns();
    if (st.unique >= expected || now >= deadline || (stop && *stop)) return;
    const auto last = std::max(st.last_rx_ns, start);
    if (now - last >= drain) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace mqttsn::bench
