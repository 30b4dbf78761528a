#include "support/rabbitmq_cluster.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "support/rabbitmq_broker.hpp"
#include "support/rabbitmq_node.hpp"
#include "tools/process/loopback_port.hpp"

namespace mqttsn::test {

namespace {

constexpr const char* kCtl = "/usr/lib/rabbitmq/bin/rabbitmqctl";

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

RabbitMqCluster::RabbitMqCluster() : dir_(std::make_unique<TempDir>("rabbitmq-cluster")) {
  if (!rabbitmq_installed())
    throw std::runtime_error(std::string(kRabbitMqServer) +
                             " not found: install rabbitmq-server (scripts/install-deps.sh)");
  // One cookie for the three nodes and rabbitmqctl: the same HOME for all.
  std::filesystem::create_directories(dir_->path() / "home");
  const std::string cookie =
      dir_->write("home/.erlang.cookie", "MQTTSNCLUSTERTEST" + std::to_string(getpid()));
  chmod(cookie.c_str(), 0400);
  dir_->write("enabled_plugins", "[rabbitmq_mqtt].\n");
  for (std::size_t i = 0; i < kNodes; ++i) {
    Node& n = nodes_[i];
    // Long names on the loopback address, as for the single node: no host name to resolve.
    n.name = "mqttsn-cluster-" + std::to_string(getpid()) + "-" + std::to_string(i) + "@127.0.0.1";
    n.mqtt_port = free_rabbitmq_port();
    n.amqp_port = free_rabbitmq_port();
    n.dist_port = free_rabbitmq_port();
    for (const char* sub : {"mnesia", "log"})
      std::filesystem::create_directories(dir_->path() / (sub + std::to_string(i)));
    write_config(i);
  }
  // The three boot side by side (each takes seconds of Erlang start), then 1 and 2 join 0.
  for (std::size_t i = 0; i < kNodes; ++i) launch(i);
  for (std::size_t i = 0; i < kNodes; ++i)
    if (!wait_started(i, 120))
      throw std::runtime_error("RabbitMQ node " + nodes_[i].name + " did not start:\n" + log(i));
  for (std::size_t i = 1; i < kNodes; ++i) {
    std::string out;
    for (const std::string& args :
         std::vector<std::string>{"stop_app", "join_cluster " + nodes_[0].name, "start_app"}) {
      if (ctl(i, args, &out) != 0)
        throw std::runtime_error("rabbitmqctl -n " + nodes_[i].name + " " + args + " failed:\n" + out);
    }
  }
  for (std::size_t i = 0; i < kNodes; ++i)
    if (!wait_started(i, 60))
      throw std::runtime_error("RabbitMQ node " + nodes_[i].name + " did not come back:\n" + log(i));
}

RabbitMqCluster::~RabbitMqCluster() {
  for (std::size_t i = 0; i < kNodes; ++i) end(i);
}

void RabbitMqCluster::write_config(std::size_t i) const {
  const Node& n = nodes_[i];
  std::ostringstream c;
  c << "listeners.tcp.default = 127.0.0.1:" << n.amqp_port << "\n";
  c << "mqtt.listeners.tcp.default = 127.0.0.1:" << n.mqtt_port << "\n";
  c << "default_user = mqttsn\ndefault_pass = mqttsn-test\nloopback_users = none\n";
  c << "mqtt.allow_anonymous = true\nmqtt.default_user = mqttsn\nmqtt.default_pass = mqttsn-test\n";
  // Kept MQTT sessions in quorum queues, replicated on every node: they survive a node's loss.
  c << "mqtt.durable_queue_type = quorum\n";
  c << "log.console = true\nlog.console.level = info\nlog.file = false\n";
  dir_->write("rabbitmq" + std::to_string(i) + ".conf", c.str());
}

void RabbitMqCluster::launch(std::size_t i) {
  Node& n = nodes_[i];
  const std::string index = std::to_string(i);
  n.pid = launch_rabbitmq_node({.name = n.name,
                                .amqp_port = n.amqp_port,
                                .dist_port = n.dist_port,
                                .home = dir_->file("home"),
                                .mnesia_dir = dir_->file("mnesia" + index),
                                .log_dir = dir_->file("log" + index),
                                .config_file = dir_->file("rabbitmq" + index + ".conf"),
                                .enabled_plugins_file = dir_->file("enabled_plugins"),
                                .output_file = dir_->file("rabbitmq" + index + ".log")},
                               epmd_);
}

bool RabbitMqCluster::wait_started(std::size_t i, int seconds) {
  Node& n = nodes_[i];
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (n.pid <= 0 || waitpid(n.pid, &status, WNOHANG) == n.pid) {
      n.pid = -1;
      return false;
    }
    if (loopback_port_accepts(n.mqtt_port) && log(i).find("Server startup complete") != std::string::npos)
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

int RabbitMqCluster::ctl(std::size_t i, const std::string& args, std::string* out) const {
  const std::string outfile = dir_->file("ctl.out");
  std::string command = "HOME='" + dir_->file("home") + "' RABBITMQ_USE_LONGNAME=true " +
                        epmd_.shell_environment() + kCtl + " -n '" + nodes_.at(i).name + "' " + args + " >'" +
                        outfile + "' 2>&1";
  const int rc = std::system(command.c_str());
  if (out != nullptr) *out = read_file(outfile);
  return rc == -1 ? -1 : WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

void RabbitMqCluster::end(std::size_t i) {
  Node& n = nodes_.at(i);
  if (n.pid <= 0) return;
  // The whole group: the script, the Erlang VM (beam.smp), erl_child_setup, inet_gethost.
  ::kill(-n.pid, SIGKILL);
  int status = 0;
  waitpid(n.pid, &status, 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (::kill(-n.pid, 0) == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  n.pid = -1;
}

void RabbitMqCluster::kill(std::size_t i) {
  end(i);
}

std::optional<std::size_t> RabbitMqCluster::node_of(const std::string& uri) const {
  for (std::size_t i = 0; i < kNodes; ++i)
    if (uri == this->uri(i) || uri == "127.0.0.1:" + std::to_string(port(i))) return i;
  return std::nullopt;
}

std::string RabbitMqCluster::log(std::size_t i) const {
  return read_file(dir_->file("rabbitmq" + std::to_string(i) + ".log"));
}

RabbitMqCluster& shared_rabbitmq_cluster() {
  static RabbitMqCluster cluster;
  return cluster;
}

}  // namespace mqttsn::test
