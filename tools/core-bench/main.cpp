// mqttsn-core-bench: measures
//  (1) ns per QoS 0 PUBLISH from a connected client through the core (decode, session lookup, topic
//      id lookup, access check, upstream call), and the heap allocations on that path (counted by
//      the replaced operator new below: the target is zero);
//  (2) heap bytes per idle connected client with 3 registered topics and 1 subscription, at 10,000
//      clients (live bytes as malloc reports them, so allocator rounding is included).
// Usage: mqttsn-core-bench [--iterations N] [--clients N]
#include <malloc.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "gateway/core/codec.hpp"
#include "gateway/core/gateway.hpp"
#include "gateway/core/log.hpp"

namespace {
std::atomic<std::uint64_t> g_allocations{0};
std::atomic<std::int64_t> g_live_bytes{0};
}  // namespace

// Counting allocator: every global new/delete goes through here.
void* operator new(std::size_t n) {
  void* p = std::malloc(n ? n : 1);
  if (!p) throw std::bad_alloc();
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  g_live_bytes.fetch_add(static_cast<std::int64_t>(malloc_usable_size(p)), std::memory_order_relaxed);
  return p;
}
void* operator new[](std::size_t n) {
  return operator new(n);
}
void operator delete(void* p) noexcept {
  if (!p) return;
  g_live_bytes.fetch_sub(static_cast<std::int64_t>(malloc_usable_size(p)), std::memory_order_relaxed);
  std::free(p);
}
void operator delete[](void* p) noexcept {
  operator delete(p);
}
void operator delete(void* p, std::size_t) noexcept {
  operator delete(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  operator delete(p);
}

namespace {

using namespace mqttsn;

// Upstream and radio that do nothing but count: the bench measures the core alone. The upstream
// answers every publish that wants a result `delivered` on its next turn (answer(), after each
// input): never from inside publish(), which the core does not allow.
class NullOutputs final : public Outputs {
 public:
  std::uint64_t sent = 0, published = 0;
  void send(const LinkAddress&, Bytes) override { ++sent; }
  void broadcast(std::uint8_t, Bytes, std::uint8_t) override {}
  void publish(PublishId id, std::string_view, std::string_view, Bytes, QoS, bool) override {
    ++published;
    if (id != 0) unanswered_.push_back(id);
  }
  void subscribe(std::string_view, QoS) override {}
  void unsubscribe(std::string_view) override {}
  void answer(Gateway& gw, Millis now) {
    if (unanswered_.empty()) return;
    for (PublishId id : unanswered_) gw.on_publish_result(id, PublishResult::delivered, now);
    unanswered_.clear();
  }

 private:
  std::vector<PublishId> unanswered_;
};

std::vector<std::uint8_t> encoded(const Message& m) {
  std::vector<std::uint8_t> buf(512);
  auto r = encode(m, buf);
  buf.resize(r.size);
  return buf;
}

LinkAddress node_address(std::uint32_t i) {
  return LinkAddress::udp4(0,
                           {10, static_cast<std::uint8_t>(i >> 16), static_cast<std::uint8_t>(i >> 8),
                            static_cast<std::uint8_t>(i)},
                           static_cast<std::uint16_t>(1000 + (i % 50000)));
}

void feed(Gateway& gw, NullOutputs& out, const LinkAddress& from, const Message& m, Millis now) {
  auto b = encoded(m);
  gw.on_datagram(from, Bytes(b.data(), b.size()), now);
  out.answer(gw, now);
}

int bench_publish(long iterations) {
  NullOutputs out;
  AllowAll policy;
  GatewayOptions o;
  o.advertise_period_s = 0;
  Gateway gw(o, out, policy);
  Millis now{1000};
  LinkAddress a = node_address(1);
  feed(gw, out, a, Connect{false, true, 1, 60, "bench-node"}, now);
  feed(gw, out, a, Register{0, 1, "sensors/bench-node/temp"}, now);
  // PUBLISH QoS 0, topic id 1, "21.5" (vector sn_publish_qos0_normal).
  const std::uint8_t datagram[] = {0x0B, 0x0C, 0x00, 0x00, 0x01, 0x00, 0x00, 0x32, 0x31, 0x2E, 0x35};
  for (int i = 0; i < 10000; ++i) {  // warm-up
    gw.on_datagram(a, Bytes(datagram, sizeof datagram), now);
    out.answer(gw, now);
  }
  std::uint64_t published_before = out.published;
  std::uint64_t allocs_before = g_allocations.load();
  auto t0 = std::chrono::steady_clock::now();
  for (long i = 0; i < iterations; ++i) {
    gw.on_datagram(a, Bytes(datagram, sizeof datagram), now);
    out.answer(gw, now);
  }
  auto t1 = std::chrono::steady_clock::now();
  std::uint64_t allocs = g_allocations.load() - allocs_before;
  std::uint64_t published = out.published - published_before;
  double ns = std::chrono::duration<double, std::nano>(t1 - t0).count() / static_cast<double>(iterations);
  std::printf(
      "qos0_publish: iterations=%ld published=%llu ns_per_publish=%.1f heap_allocations=%llu (target <= 300 "
      "ns, 0 allocations)\n",
      iterations, static_cast<unsigned long long>(published), ns, static_cast<unsigned long long>(allocs));
  return published == static_cast<std::uint64_t>(iterations) ? 0 : 1;
}

int bench_memory(std::uint32_t clients, bool shared_topics) {
  NullOutputs out;
  AllowAll policy;
  GatewayOptions o;
  o.advertise_period_s = 0;
  o.limits.max_clients = clients;
  std::int64_t before_gateway = g_live_bytes.load();
  auto gw = std::make_unique<Gateway>(o, out, policy);
  std::int64_t base = g_live_bytes.load();
  Millis now{1000};
  char id[24], t1[64], t2[64], t3[64], sub[64];
  for (std::uint32_t i = 0; i < clients; ++i) {
    std::snprintf(id, sizeof id, "node%06u", i);
    const char* who = shared_topics ? "all" : id;
    std::snprintf(t1, sizeof t1, "sensors/%s/temp", who);
    std::snprintf(t2, sizeof t2, "sensors/%s/hum", who);
    std::snprintf(t3, sizeof t3, "sensors/%s/batt", who);
    std::snprintf(sub, sizeof sub, "cmd/%s/#", who);
    LinkAddress a = node_address(i + 1);
    feed(*gw, out, a, Connect{false, true, 1, 300, id}, now);
    feed(*gw, out, a, Register{0, 1, t1}, now);
    feed(*gw, out, a, Register{0, 2, t2}, now);
    feed(*gw, out, a, Register{0, 3, t3}, now);
    feed(*gw, out, a, Subscribe{false, 1, TopicIdType::normal, 4, sub, 0}, now);
    if (!shared_topics || i == 0) gw->on_upstream_suback(sub, QoS{1}, now);
  }
  std::int64_t after = g_live_bytes.load();
  bool all_connected =
      gw->session_count() == clients && gw->subscriptions().size() == (shared_topics ? 1u : clients);
  double per_client = static_cast<double>(after - base) / clients;
  std::printf(
      "idle_client_memory: clients=%u topics=%s bytes_per_client=%.0f total_heap_bytes=%lld "
      "gateway_fixed_bytes=%lld sessions_ok=%s (target <= 1024)\n",
      clients, shared_topics ? "shared" : "distinct", per_client, static_cast<long long>(after - base),
      static_cast<long long>(base - before_gateway), all_connected ? "yes" : "no");
  gw.reset();
  return all_connected ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  long iterations = 5'000'000;
  std::uint32_t clients = 10'000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--iterations"))
      iterations = std::atol(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--clients"))
      clients = static_cast<std::uint32_t>(std::atol(argv[i + 1]));
  }
  log::set_level(log::Level::error);
  int rc = bench_publish(iterations);
  rc |= bench_memory(clients, false);
  rc |= bench_memory(clients, true);
  return rc;
}
