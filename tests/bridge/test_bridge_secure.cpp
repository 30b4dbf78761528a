// Against a secured mosquitto: password_file + acl_file as an operator sets them up, and TLS with a
// CA and server certificate made by openssl in the test.
#include <doctest/doctest.h>

#include "bridge_harness.hpp"

using namespace mqttsn;
using namespace mqttsn::bridge;
using namespace mqttsn::bridge::test;
using mqttsn::test::MosquittoBroker;
using mqttsn::test::MosquittoOptions;
using mqttsn::test::PahoTestClient;

namespace {
MosquittoOptions secured() {
  MosquittoOptions o;
  o.allow_anonymous = false;
  o.users = {{"gw", "right-password"}, {"reader", "reader-pw"}};
  o.acl = "user gw\ntopic readwrite allowed/#\ntopic write gateway/#\n\nuser reader\ntopic read #\n";
  return o;
}
}  // namespace

TEST_CASE("right credentials connect and a topic the ACL forbids does not arrive") {
  MosquittoBroker broker(secured());
  auto reader = std::make_unique<PahoTestClient>([&] {
    auto o = client_for(broker.uri(), "reader");
    o.username = "reader";
    o.password = "reader-pw";
    return o;
  }());
  REQUIRE(reader->connect());
  REQUIRE(reader->subscribe("#", 1));

  mqttsn::test::TempDir dir;
  auto o = options_for(broker.uri());
  o.username = "gw";
  o.password_file = dir.write("gw.pw", "right-password\n");
  BridgeHarness h(o);
  REQUIRE(h.start_and_connect());

  h.publish("forbidden/x", "no", 1);
  auto allowed = h.publish("allowed/x", "yes", 1);
  REQUIRE(h.run([&] { return h.events.results.size() == 2; }));
  // mosquitto acknowledges a forbidden QoS 1 publish (MQTT 3.1.1 has no way to say no) and drops it.
  CHECK(h.events.results[allowed] == PublishResult::delivered);
  REQUIRE(reader->wait_until(
      [](const auto& ms) {
        for (auto& m : ms)
          if (m.topic == "allowed/x") return true;
        return false;
      },
      5s));
  for (auto& m : reader->messages()) CHECK(m.topic != "forbidden/x");

  // A subscription the ACL forbids is refused (SUBACK 0x80) or, by older brokers, granted and silent.
  h.bridge->subscribe("secret/#", 1);
  REQUIRE(h.run([&] { return h.events.subacks.size() == 1; }));
  MESSAGE("mosquitto answered a forbidden subscription with "
          << (h.events.subacks[0].second ? std::to_string(*h.events.subacks[0].second) : "0x80"));
}

TEST_CASE("a wrong password is reported as auth refused and retried with back-off") {
  MosquittoBroker broker(secured());
  auto o = options_for(broker.uri());
  o.username = "gw";
  o.password_env = "MQTTSN_BRIDGE_TEST_WRONG_PW";
  setenv("MQTTSN_BRIDGE_TEST_WRONG_PW", "wrong-password", 1);
  BridgeHarness h(o);
  h.bridge->start();
  REQUIRE(h.run([&] { return h.bridge->status().state == UpstreamState::auth_refused; }));
  // Retried: more attempts follow (back-off 100, 200, 400 ms here), but the state is reported once.
  REQUIRE(h.run([&] { return h.bridge->status().counters.connect_failures >= 3; }, 10s));
  auto st = h.bridge->status();
  CHECK(st.last_error.find("CONNACK") != std::string::npos);
  CHECK(st.last_error.find("gw") != std::string::npos);
  std::size_t refused_reports = 0;
  for (auto s : h.events.states) refused_reports += s == UpstreamState::auth_refused;
  CHECK(refused_reports == 1);
  CHECK(st.counters.connects == 0);

  // While refused, QoS 1 publishes are queued and acknowledged to the node; QoS 0 is dropped.
  CHECK(h.result_of(h.publish("allowed/q", "1", 1)) == PublishResult::kept);
  h.publish("allowed/q", "0", 0);
  unsetenv("MQTTSN_BRIDGE_TEST_WRONG_PW");
}

TEST_CASE("TLS: connects with the right CA and delivers") {
  auto bo = secured();
  bo.allow_anonymous = true;
  bo.users.clear();
  bo.acl.clear();
  bo.tls = true;
  MosquittoBroker broker(bo);
  PahoTestClient sub(client_for(broker.uri(), "sub"));
  REQUIRE(sub.connect());
  REQUIRE(sub.subscribe("tls/#", 1));

  auto o = options_for(broker.tls_uri());
  o.tls.ca_file = broker.pki().ca_cert;
  BridgeHarness h(o);
  REQUIRE(h.start_and_connect());
  CHECK(h.bridge->status().server == broker.tls_uri());
  h.publish("tls/x", "secret", 1);
  REQUIRE(sub.wait_for(1, 5s));
  CHECK(sub.messages()[0].payload == "secret");
}

TEST_CASE("TLS: a wrong CA is refused with the reason") {
  MosquittoOptions bo;
  bo.tls = true;
  MosquittoBroker broker(bo);
  auto o = options_for(broker.tls_uri());
  o.tls.ca_file = broker.pki().other_ca_cert;
  BridgeHarness h(o);
  h.bridge->start();
  REQUIRE(h.run([&] { return h.bridge->status().state == UpstreamState::tls_failed; }));
  MESSAGE("reason: " << h.bridge->status().last_error);
  CHECK(h.bridge->status().last_error.find("certificate verify failed") != std::string::npos);
  CHECK(h.bridge->status().counters.connects == 0);
}

TEST_CASE("TLS: a certificate for another host name is refused with the reason") {
  MosquittoOptions bo;
  bo.tls = true;
  // Neither the address the test connects to (127.0.0.1, no name lookup: a minimal machine may have
  // no "localhost" entry) nor any name of this host is in the certificate.
  bo.tls_dns_names = {"broker.invalid"};
  bo.tls_ip_addresses = {};
  MosquittoBroker broker(bo);
  auto o = options_for(broker.tls_uri("127.0.0.1"));
  o.tls.ca_file = broker.pki().ca_cert;
  BridgeHarness h(o);
  h.bridge->start();
  REQUIRE(h.run([&] { return h.bridge->status().state == UpstreamState::tls_failed; }));
  MESSAGE("reason: " << h.bridge->status().last_error);
  CHECK(h.bridge->status().counters.connects == 0);

  // The same certificate is accepted when host-name verification is switched off explicitly.
  auto lax = options_for(broker.tls_uri("127.0.0.1"));
  lax.tls.ca_file = broker.pki().ca_cert;
  lax.tls.verify_host_name = false;
  lax.client_id = "lax";
  BridgeHarness h2(lax);
  CHECK(h2.start_and_connect());
}
