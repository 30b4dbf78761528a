#pragma once
// Starting one RabbitMQ node for tests, shared by the single node (rabbitmq_broker) and the cluster
// (rabbitmq_cluster): the server script run directly in a process group of its own, on loopback
// ports and in directories the caller chose, pointed at the caller's epmd.
#include <sys/types.h>

#include <cstdint>
#include <string>

#include "support/erlang_port_mapper.hpp"

namespace mqttsn::test {

// The server script itself, not /usr/sbin/rabbitmq-server: that wrapper switches to the user
// "rabbitmq" when run as root, which could not write our temp directories. This one runs the node
// as whoever starts it.
inline constexpr const char* kRabbitMqServer = "/usr/lib/rabbitmq/bin/rabbitmq-server";

struct RabbitMqNodeSpec {
  std::string name;  // a long name on 127.0.0.1: Erlang's distribution then resolves no host name
  std::uint16_t amqp_port = 0;
  std::uint16_t dist_port = 0;  // Erlang distribution (clustering, rabbitmqctl)
  std::string home;             // HOME: the Erlang cookie
  std::string mnesia_dir;
  std::string log_dir;
  std::string config_file;           // rabbitmq.conf (listeners, users, plugins' settings)
  std::string enabled_plugins_file;  // "[rabbitmq_mqtt]."
  std::string output_file;           // the node's console log (stdout and stderr), appended
};

// Forks and runs the node; returns its pid, which is also its process group (the script, the Erlang
// VM and its helpers are stopped together by signalling -pid). Throws when fork fails.
pid_t launch_rabbitmq_node(const RabbitMqNodeSpec& spec, const ErlangPortMapper& epmd);

// A free TCP port on 127.0.0.1 for a node's listener; throws when none can be had.
std::uint16_t free_rabbitmq_port();

}  // namespace mqttsn::test
