#pragma once
// A real RabbitMQ node with its MQTT plugin (rabbitmq_mqtt) for integration tests, on free loopback
// ports, with its own node name, data and log directories and HOME (its Erlang cookie). A node takes
// 10-20 s to start, so a test suite starts one and shares it (shared_rabbitmq()), where mosquitto is
// started per test.
//
//   mqttsn::test::RabbitMqBroker& broker = mqttsn::test::shared_rabbitmq();
//   broker.uri()      -> "tcp://127.0.0.1:<MQTT port>"
//   broker.tls_uri()  -> "ssl://127.0.0.1:<MQTT TLS port>" (with RabbitMqOptions::tls), pki().ca_cert its CA
//
// What RabbitMQ does differently from mosquitto: no QoS 2 (a QoS 2 PUBLISH is answered with PUBACK,
// a QoS 2 SUBSCRIBE granted QoS 1), retained messages kept per node and not sent for wildcard
// subscriptions, and anonymous MQTT clients logged in as a configured user.
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "support/erlang_port_mapper.hpp"
#include "support/temp_dir.hpp"
#include "support/test_pki.hpp"

namespace mqttsn::test {

struct RabbitMqOptions {
  // Without: every MQTT client must log in as `user`.
  bool allow_anonymous = true;
  // The node's one user (created at its first start), which anonymous MQTT clients become.
  std::string user = "mqttsn";
  std::string password = "mqttsn-test";
  // Adds an MQTT listener over TLS, with a server certificate (SAN localhost, 127.0.0.1) from a test CA.
  // Clients are not asked for a certificate.
  bool tls = false;
};

class RabbitMqBroker {
 public:
  explicit RabbitMqBroker(RabbitMqOptions options = {});
  ~RabbitMqBroker();
  RabbitMqBroker(const RabbitMqBroker&) = delete;
  RabbitMqBroker& operator=(const RabbitMqBroker&) = delete;

  // Starts (again, keeping its data and ports) and waits until the MQTT listener accepts. Throws.
  void start();
  // SIGTERM (a clean stop: durable queues and retained messages are kept), SIGKILL after 30 s.
  void stop();
  // SIGKILL, as a crash.
  void kill();
  bool running() const { return pid_ > 0; }

  std::uint16_t port() const { return mqtt_port_; }
  std::string uri() const { return "tcp://127.0.0.1:" + std::to_string(mqtt_port_); }
  std::uint16_t tls_port() const { return mqtt_tls_port_; }
  std::string tls_uri(const std::string& host = "127.0.0.1") const {
    return "ssl://" + host + ":" + std::to_string(mqtt_tls_port_);
  }
  const TestPki& pki() const { return pki_; }
  const RabbitMqOptions& options() const { return options_; }
  std::string log() const;  // the node's output so far (for failure messages)

 private:
  void write_config();
  bool launch_and_wait();
  void end(int signal, int seconds);

  RabbitMqOptions options_;
  std::unique_ptr<TempDir> dir_;
  ErlangPortMapper epmd_;
  TestPki pki_;
  std::string node_name_;
  std::uint16_t mqtt_port_ = 0;
  std::uint16_t mqtt_tls_port_ = 0;
  std::uint16_t amqp_port_ = 0;
  std::uint16_t dist_port_ = 0;
  pid_t pid_ = -1;  // also the process group of the node's processes
};

// One node per test program, started at first use and stopped at exit (anonymous, default user).
RabbitMqBroker& shared_rabbitmq();

// Whether the RabbitMQ server is installed (scripts/packages.txt: rabbitmq-server).
bool rabbitmq_installed();

}  // namespace mqttsn::test
