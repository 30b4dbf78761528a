// The run-time choice of the Paho library (bridge/paho_library.hpp). This program does not link
// Paho, as the gateway does not: what load() finds is what a gateway would get.
#include <dlfcn.h>
#include <doctest/doctest.h>

#include <string>

#include "bridge/paho_library.hpp"

using namespace mqttsn::bridge;

TEST_CASE("paho library: TLS is needed for ssl://, mqtts:// and wss:// servers and for TLS files") {
  BridgeOptions o;
  o.servers = {"tcp://127.0.0.1:1883", "mqtt://broker:1883", "ws://broker:80"};
  CHECK_FALSE(paho::needs_tls(o));
  for (const char* uri : {"ssl://broker:8883", "mqtts://broker:8883", "wss://broker:443"}) {
    BridgeOptions t = o;
    t.servers.push_back(uri);
    CHECK_MESSAGE(paho::needs_tls(t), uri);
  }
  BridgeOptions ca = o;
  ca.tls.ca_file = "/etc/ssl/certs/ca-certificates.crt";
  CHECK(paho::needs_tls(ca));
  BridgeOptions cert = o;
  cert.tls.cert_file = "client.crt";
  CHECK(paho::needs_tls(cert));
}

TEST_CASE("paho library: plain TCP loads libpaho-mqtt3a only, and TLS afterwards asks for a restart") {
  CHECK(paho::loaded() == nullptr);
  const auto plain = paho::load(paho::Flavour::plain);
  REQUIRE_MESSAGE(plain.api != nullptr, plain.error);
  CHECK(plain.api->flavour == paho::Flavour::plain);
  CHECK(std::string(plain.api->soname) == "libpaho-mqtt3a.so.1");
  CHECK(paho::loaded() == plain.api);
  CHECK(&paho::api() == plain.api);
  // No OpenSSL-linked Paho in the process.
  CHECK(::dlopen("libpaho-mqtt3as.so.1", RTLD_NOW | RTLD_NOLOAD) == nullptr);
  MQTTAsync_nameValue* info = paho::api().getVersionInfo();
  REQUIRE(info != nullptr);
  CHECK(info->name != nullptr);

  // The two libraries export the same symbols: never both in one process.
  const auto tls = paho::load(paho::Flavour::tls);
  CHECK(tls.api == nullptr);
  CHECK(tls.error.find("restart") != std::string::npos);
  CHECK(::dlopen("libpaho-mqtt3as.so.1", RTLD_NOW | RTLD_NOLOAD) == nullptr);
  CHECK(paho::load(paho::Flavour::plain).api == plain.api);
}
