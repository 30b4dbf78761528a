#include "support/rabbitmq_broker.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/rabbitmq_node.hpp"
#include "tools/process/loopback_port.hpp"

namespace mqttsn::test {

namespace {

std::atomic<int> g_nodes{0};

}  // namespace

bool rabbitmq_installed() {
  return access(kRabbitMqServer, X_OK) == 0;
}

RabbitMqBroker::RabbitMqBroker(RabbitMqOptions options)
    : options_(std::move(options)), dir_(std::make_unique<TempDir>("rabbitmq")) {
  if (!rabbitmq_installed())
    throw std::runtime_error(std::string(kRabbitMqServer) +
                             " not found: install rabbitmq-server (scripts/install-deps.sh)");
  // A long node name on the loopback address: Erlang's distribution then resolves no host name, so a
  // minimal root without /etc/hosts (no "localhost") runs the broker too.
  node_name_ = "mqttsn-test-" + std::to_string(getpid()) + "-" + std::to_string(g_nodes++) + "@127.0.0.1";
  for (const char* sub : {"mnesia", "log", "home"}) std::filesystem::create_directories(dir_->path() / sub);
  if (options_.tls) pki_ = make_test_pki(*dir_);
  dir_->write("enabled_plugins", "[rabbitmq_mqtt].\n");
  start();
}

RabbitMqBroker::~RabbitMqBroker() {
  end(SIGKILL, 10);
}

void RabbitMqBroker::write_config() {
  std::ostringstream c;
  c << "listeners.tcp.default = 127.0.0.1:" << amqp_port_ << "\n";
  c << "mqtt.listeners.tcp.default = 127.0.0.1:" << mqtt_port_ << "\n";
  if (options_.tls) {
    c << "mqtt.listeners.ssl.default = 127.0.0.1:" << mqtt_tls_port_ << "\n";
    c << "ssl_options.cacertfile = " << pki_.ca_cert << "\n";
    c << "ssl_options.certfile = " << pki_.server_cert << "\n";
    c << "ssl_options.keyfile = " << pki_.server_key << "\n";
    c << "ssl_options.verify = verify_none\nssl_options.fail_if_no_peer_cert = false\n";
  }
  c << "default_user = " << options_.user << "\n";
  c << "default_pass = " << options_.password << "\n";
  c << "loopback_users = none\n";
  c << "mqtt.allow_anonymous = " << (options_.allow_anonymous ? "true" : "false") << "\n";
  c << "mqtt.default_user = " << options_.user << "\n";
  c << "mqtt.default_pass = " << options_.password << "\n";
  c << "log.console = true\nlog.console.level = info\nlog.file = false\n";
  dir_->write("rabbitmq.conf", c.str());
}

bool RabbitMqBroker::launch_and_wait() {
  write_config();
  pid_ = launch_rabbitmq_node({.name = node_name_,
                               .amqp_port = amqp_port_,
                               .dist_port = dist_port_,
                               .home = dir_->file("home"),
                               .mnesia_dir = dir_->file("mnesia"),
                               .log_dir = dir_->file("log"),
                               .config_file = dir_->file("rabbitmq.conf"),
                               .enabled_plugins_file = dir_->file("enabled_plugins"),
                               .output_file = dir_->file("rabbitmq.log")},
                              epmd_);
  // Startup is seconds of Erlang boot: generous for a loaded 2-core CI machine.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    if (loopback_port_accepts(mqtt_port_) && (!options_.tls || loopback_port_accepts(mqtt_tls_port_)) &&
        this->log().find("Server startup complete") != std::string::npos)
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  end(SIGKILL, 10);
  return false;
}

void RabbitMqBroker::start() {
  if (pid_ > 0) return;
  const bool first = mqtt_port_ == 0;
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (first) {
      mqtt_port_ = free_rabbitmq_port();
      if (options_.tls) mqtt_tls_port_ = free_rabbitmq_port();
      amqp_port_ = free_rabbitmq_port();
      dist_port_ = free_rabbitmq_port();
    }
    if (launch_and_wait()) return;
    if (!first) std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  throw std::runtime_error("RabbitMQ did not start; its log:\n" + log());
}

void RabbitMqBroker::end(int signal, int seconds) {
  if (pid_ <= 0) return;
  ::kill(-pid_, signal);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  int status = 0;
  while (waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(-pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // The script may end before the Erlang VM it started has finished its clean stop: wait for the
  // whole group (the VM, erl_child_setup, inet_gethost), then kill what is left.
  while (::kill(-pid_, 0) == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ::kill(-pid_, SIGKILL);
  pid_ = -1;
}

void RabbitMqBroker::stop() {
  end(SIGTERM, 30);
}

void RabbitMqBroker::kill() {
  end(SIGKILL, 10);
}

std::string RabbitMqBroker::log() const {
  std::ifstream in(dir_->file("rabbitmq.log"));
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

RabbitMqBroker& shared_rabbitmq() {
  static RabbitMqBroker broker;
  return broker;
}

}  // namespace mqttsn::test
