#include "support/rabbitmq_node.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <stdexcept>

#include "tools/process/loopback_port.hpp"

namespace mqttsn::test {

pid_t launch_rabbitmq_node(const RabbitMqNodeSpec& spec, const ErlangPortMapper& epmd) {
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    setpgid(0, 0);
    const int fd = open(spec.output_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    setenv("HOME", spec.home.c_str(), 1);
    setenv("RABBITMQ_USE_LONGNAME", "true", 1);
    setenv("RABBITMQ_NODENAME", spec.name.c_str(), 1);
    setenv("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1", 1);
    setenv("RABBITMQ_NODE_PORT", std::to_string(spec.amqp_port).c_str(), 1);
    setenv("RABBITMQ_DIST_PORT", std::to_string(spec.dist_port).c_str(), 1);
    setenv("RABBITMQ_MNESIA_BASE", spec.mnesia_dir.c_str(), 1);
    setenv("RABBITMQ_LOG_BASE", spec.log_dir.c_str(), 1);
    setenv("RABBITMQ_CONFIG_FILE", spec.config_file.c_str(), 1);
    setenv("RABBITMQ_ENABLED_PLUGINS_FILE", spec.enabled_plugins_file.c_str(), 1);
    setenv("RABBITMQ_LOGS", "-", 1);
    epmd.export_to_environment();
    // Erlang's distribution listens on every interface unless told otherwise.
    setenv("RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS", "-kernel inet_dist_use_interface {127,0,0,1}", 1);
    execl(kRabbitMqServer, kRabbitMqServer, static_cast<char*>(nullptr));
    _exit(127);
  }
  setpgid(pid, pid);  // also here: a signal to the group may come before the child ran setpgid
  return pid;
}

std::uint16_t free_rabbitmq_port() {
  const int port = free_loopback_port();
  if (port < 0) throw std::runtime_error("cannot bind a loopback port");
  return static_cast<std::uint16_t>(port);
}

}  // namespace mqttsn::test
