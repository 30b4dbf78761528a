// mqttsn-bridge-bench: how close the bridge comes to a plain Paho publisher.
//
//   mqttsn-bridge-bench [--messages N] [--payload BYTES] [--window W] [--rounds R] [--uri tcp://...]
//
// For QoS 0 and QoS 1, and for each of R rounds, the plain publisher and the bridge send the same N
// messages to the same mosquitto (started by the tool unless --uri is given); the best round of each
// is reported with the ratio bridge/plain (target >= 0.9).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>

#include "bridge/bridge.hpp"
#include "gateway/core/log.hpp"
#include "plain_publisher.hpp"
#include "support/mosquitto_broker.hpp"

namespace {

using mqttsn::bench::RunSpec;
using namespace mqttsn::bridge;

class CountingEvents : public UpstreamEvents {
 public:
  mqttsn::DownlinkReceipt on_message(std::string_view, mqttsn::Bytes, mqttsn::QoS, bool,
                                     mqttsn::bridge::InboxId) override {
    return {};
  }
  void on_publish_result(mqttsn::PublishId id, mqttsn::PublishResult result) override {
    ++results;
    if (result == mqttsn::PublishResult::congested) ++failed;
    if (id == marker) marker_done = true;
  }
  void on_suback(std::string_view, std::optional<mqttsn::QoS>) override {}
  void on_state(UpstreamState s) override { state = s; }

  int results = 0;
  int failed = 0;
  mqttsn::PublishId marker = 0;
  bool marker_done = false;
  UpstreamState state = UpstreamState::stopped;
};

void run_loop_until(uv_loop_t* loop, const std::function<bool()>& done) {
  while (!done()) uv_run(loop, UV_RUN_ONCE);
}

double run_bridge(const RunSpec& spec) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  CountingEvents ev;
  BridgeOptions o;
  o.servers = {spec.uri};
  o.client_id = "bench-bridge";
  o.presence = false;
  o.max_inflight = spec.window;
  o.queue_max_messages = static_cast<std::size_t>(spec.messages) + 1;
  o.queue_max_bytes =
      static_cast<std::size_t>(spec.messages + 1) * (spec.payload_size + spec.topic.size() + 64);
  double seconds = -1;
  {
    Bridge bridge(&loop, o, ev);
    bridge.start();
    run_loop_until(&loop, [&] {
      return ev.state == UpstreamState::connected || ev.state == UpstreamState::unreachable;
    });
    if (ev.state == UpstreamState::connected) {
      // The payloads are made before the clock starts, as the radio side would hand them over.
      std::vector<std::string> payloads;
      payloads.reserve(static_cast<std::size_t>(spec.messages));
      for (int i = 0; i < spec.messages; ++i)
        payloads.push_back(mqttsn::bench::bench_payload(i, spec.payload_size));
      const auto start = std::chrono::steady_clock::now();
      PublishRequest r;
      r.topic = spec.topic;
      r.qos = static_cast<mqttsn::QoS>(spec.qos);
      for (const auto& p : payloads) {
        ++r.id;
        r.payload = mqttsn::Bytes(reinterpret_cast<const std::uint8_t*>(p.data()), p.size());
        bridge.publish(r);
      }
      if (spec.qos == 0) {
        static const std::uint8_t end[] = {'e', 'n', 'd'};
        r.id = ev.marker = r.id + 1;
        r.qos = 1;
        r.payload = mqttsn::Bytes(end, 3);
        bridge.publish(r);
        run_loop_until(&loop, [&] { return ev.marker_done || ev.failed > 0; });
      } else {
        run_loop_until(&loop, [&] { return ev.results >= spec.messages; });
      }
      seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    bool done = false;
    bridge.shutdown(mqttsn::Millis(1000), [&] { done = true; });
    run_loop_until(&loop, [&] { return done; });
  }
  uv_run(&loop, UV_RUN_NOWAIT);
  uv_loop_close(&loop);
  return ev.failed > 0 ? -1 : seconds;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Bridge throughput against a plain Paho MQTTAsync publisher"};
  int messages = 50000;
  int payload = 32;
  int window = 4096;
  int rounds = 3;
  std::string uri;
  app.add_option("--messages", messages, "messages per run")->check(CLI::PositiveNumber);
  app.add_option("--payload", payload, "payload bytes")->check(CLI::NonNegativeNumber);
  app.add_option("--window", window, "QoS 1 messages in flight (both publishers)")
      ->check(CLI::PositiveNumber);
  app.add_option("--rounds", rounds, "rounds per QoS (best is reported)")->check(CLI::PositiveNumber);
  app.add_option("--uri", uri, "broker to use instead of starting mosquitto");
  CLI11_PARSE(app, argc, argv);
  mqttsn::log::set_level(mqttsn::log::Level::warning);

  std::unique_ptr<mqttsn::test::MosquittoBroker> broker;
  if (uri.empty()) {
    broker = std::make_unique<mqttsn::test::MosquittoBroker>();
    uri = broker->uri();
  }
  std::printf("broker %s, %d messages of %d bytes, window %d, best of %d rounds\n", uri.c_str(), messages,
              payload, window, rounds);
  bool ok = true;
  for (int qos : {0, 1}) {
    double best_plain = 0, best_bridge = 0;
    for (int r = 0; r < rounds; ++r) {
      RunSpec spec{uri, "bench/p/q" + std::to_string(qos), qos, messages, payload, window};
      double p = mqttsn::bench::run_plain(spec);
      spec.topic = "bench/b/q" + std::to_string(qos);
      double b = run_bridge(spec);
      if (p <= 0 || b <= 0) {
        std::fprintf(stderr, "qos %d round %d failed\n", qos, r);
        ok = false;
        continue;
      }
      best_plain = std::max(best_plain, messages / p);
      best_bridge = std::max(best_bridge, messages / b);
      std::printf("  qos %d round %d: plain %.0f msg/s, bridge %.0f msg/s\n", qos, r, messages / p,
                  messages / b);
    }
    std::printf("QoS %d: plain Paho %.0f msg/s, bridge %.0f msg/s, ratio %.2f\n", qos, best_plain,
                best_bridge, best_plain > 0 ? best_bridge / best_plain : 0.0);
  }
  return ok ? 0 : 1;
}
