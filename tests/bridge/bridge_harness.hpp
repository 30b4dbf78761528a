#pragma once
// One bridge on its own loop, shut down cleanly at the end of the test.
#include <chrono>
#include <memory>
#include <string>

#include "bridge/bridge.hpp"
#include "recording_events.hpp"
#include "support/mosquitto_broker.hpp"
#include "support/paho_test_client.hpp"
#include "support/uv_run_until.hpp"

namespace mqttsn::bridge::test {

using namespace std::chrono_literals;

inline BridgeOptions options_for(const std::string& uri) {
  BridgeOptions o;
  o.servers = {uri};
  o.client_id = "bridge-test-7";
  o.gateway_id = "7";
  o.reconnect_min = Millis(100);
  o.reconnect_max = Millis(400);
  o.connect_timeout = Millis(2000);
  return o;
}

struct BridgeHarness {
  explicit BridgeHarness(BridgeOptions o) : bridge(std::make_unique<Bridge>(loop, std::move(o), events)) {}
  ~BridgeHarness() {
    if (bridge) {
      bool done = false;
      bridge->shutdown(Millis(1000), [&] { done = true; });
      mqttsn::test::run_until(
          loop, [&] { return done; }, 5s);
      bridge.reset();
    }
  }
  bool start_and_connect(std::chrono::milliseconds timeout = 5s) {
    bridge->start();
    return run([&] { return bridge->status().state == UpstreamState::connected; }, timeout);
  }
  template <class F>
  bool run(F&& f, std::chrono::milliseconds timeout = 5s) {
    return mqttsn::test::run_until(loop, std::forward<F>(f), timeout);
  }
  // Returns the request's id; its result arrives in events.results on a later loop turn.
  // `kept_above`: as the durable stage sends it (PublishRequest::kept_above).
  PublishId publish(const std::string& topic, const std::string& payload, QoS qos, bool retain = false,
                    bool kept_above = false) {
    PublishRequest r;
    r.id = ++last_id;
    r.topic = topic;
    r.payload = bytes_of(payload);
    r.qos = qos;
    r.retain = retain;
    r.kept_above = kept_above;
    bridge->publish(r);
    CHECK(events.results.count(r.id) == 0);  // never answered from inside publish()
    return r.id;
  }
  // The result of `id` once the loop has run (nullopt: none yet).
  std::optional<PublishResult> result_of(PublishId id) {
    run([&] { return events.results.count(id) > 0; }, std::chrono::milliseconds(200));
    auto it = events.results.find(id);
    return it == events.results.end() ? std::nullopt : std::optional<PublishResult>(it->second);
  }

  mqttsn::test::TestLoop loop;
  RecordingEvents events;
  std::unique_ptr<Bridge> bridge;
  PublishId last_id = 0;
};

inline mqttsn::test::TestClientOptions client_for(const std::string& uri, const std::string& id) {
  mqttsn::test::TestClientOptions o;
  o.uri = uri;
  o.client_id = id;
  return o;
}

}  // namespace mqttsn::bridge::test
