// The upstream client id and presence topic from the configuration file to the broker: the loader
// expands their placeholders once, the option mapping copies them, the bridge uses them as given.
#include <doctest/doctest.h>

#include <string>

#include "bridge_harness.hpp"
#include "conf/config_loader.hpp"
#include "conf/placeholders.hpp"
#include "gateway/app/options_mapping.hpp"

using namespace mqttsn;
using namespace mqttsn::bridge::test;
using mqttsn::test::MosquittoBroker;
using mqttsn::test::PahoTestClient;

namespace {

// `servers` goes first so that the rest keeps its line numbers.
std::string config_text(const std::string& server = "tcp://127.0.0.1:1883") {
  return "[upstream]\nservers = [\"" + server + R"("]
client_id = "gw-%%h-%g"
presence_topic = "site/%h/gw%g/100%%"
[gateway]
id = 42
[[link]]
kind = "udp"
)";
}

bridge::BridgeOptions options_from(const std::string& text) {
  const auto r = conf::parse_config(text, "/etc/mqttsn-gw/gateway.toml");
  REQUIRE_MESSAGE(r.ok(), conf::to_string(r.errors));
  return app::bridge_options(r.config);
}

}  // namespace

TEST_CASE("client id: %% reaches the bridge options as one literal %, not expanded again") {
  const auto o = options_from(config_text());
  CHECK(o.client_id == "gw-%h-42");
  CHECK(o.presence_topic == "site/" + conf::local_host_name() + "/gw42/100%");
  CHECK(o.presence);
}

TEST_CASE("client id: the broker sees exactly the configured id, and presence on the expanded topic") {
  MosquittoBroker broker;
  PahoTestClient watch(client_for(broker.uri(), "watch"));
  REQUIRE(watch.connect());
  REQUIRE(watch.subscribe("site/#", 1));

  BridgeHarness h(options_from(config_text(broker.uri())));
  REQUIRE(h.start_and_connect());
  // mosquitto's connection message: "New client connected from 127.0.0.1:<port> as <id> (p2, ...".
  CHECK_MESSAGE(h.run([&] { return broker.log().find(" as gw-%h-42 (") != std::string::npos; }, 2s),
                broker.log());
  REQUIRE(watch.wait_for(1, 5s));
  const auto m = watch.messages().front();
  CHECK(m.topic == "site/" + conf::local_host_name() + "/gw42/100%");
  CHECK(m.payload == "online");
}
