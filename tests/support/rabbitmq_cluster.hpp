#pragma once
// Three RabbitMQ nodes with the MQTT plugin joined into one cluster on this machine, for failover
// tests: three node names on 127.0.0.1, three sets of ports (MQTT, AMQP, Erlang distribution), one
// Erlang cookie (one HOME for the nodes and for rabbitmqctl). Nodes 1 and 2 join node 0
// (stop_app, join_cluster, start_app). Starting takes 20-40 s, so a test program starts it once
// (shared_rabbitmq_cluster()).
//
// MQTT sessions that are kept (clean_session = false) live in quorum queues
// (mqtt.durable_queue_type = quorum), replicated on all three nodes: with classic queues a kept
// session is lost with its node (the next SUBSCRIBE on a survivor fails, NOT_FOUND). RabbitMQ's
// MQTT plugin needs a majority of the nodes up, so the cluster survives one node's loss, not two.
#include <sys/types.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "support/erlang_port_mapper.hpp"
#include "support/temp_dir.hpp"

namespace mqttsn::test {

class RabbitMqCluster {
 public:
  static constexpr std::size_t kNodes = 3;

  RabbitMqCluster();  // starts all three and forms the cluster; throws on failure
  ~RabbitMqCluster();
  RabbitMqCluster(const RabbitMqCluster&) = delete;
  RabbitMqCluster& operator=(const RabbitMqCluster&) = delete;

  // SIGKILL of node i's processes (the Erlang VM and its helpers), as a crash.
  void kill(std::size_t i);
  bool running(std::size_t i) const { return nodes_.at(i).pid > 0; }

  std::uint16_t port(std::size_t i) const { return nodes_.at(i).mqtt_port; }
  std::string uri(std::size_t i) const { return "tcp://127.0.0.1:" + std::to_string(port(i)); }
  // Which node listens on the MQTT server `uri` names ("tcp://127.0.0.1:PORT"), if any.
  std::optional<std::size_t> node_of(const std::string& uri) const;
  const std::string& node_name(std::size_t i) const { return nodes_.at(i).name; }
  // Runs `rabbitmqctl -n <node i> args...` with the cluster's cookie; its exit status, output in `out`.
  int ctl(std::size_t i, const std::string& args, std::string* out = nullptr) const;
  std::string log(std::size_t i) const;  // node i's output so far (for failure messages)

 private:
  struct Node {
    std::string name;
    std::uint16_t mqtt_port = 0;
    std::uint16_t amqp_port = 0;
    std::uint16_t dist_port = 0;
    pid_t pid = -1;  // also the process group of the node's processes
  };
  void write_config(std::size_t i) const;
  void launch(std::size_t i);
  bool wait_started(std::size_t i, int seconds);
  void end(std::size_t i);

  std::unique_ptr<TempDir> dir_;
  ErlangPortMapper epmd_;  // one for the three nodes and rabbitmqctl: they find each other through it
  std::array<Node, kNodes> nodes_{};
};

// One cluster per test program, started at first use and stopped at exit.
RabbitMqCluster& shared_rabbitmq_cluster();

}  // namespace mqttsn::test
