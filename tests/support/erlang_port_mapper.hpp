#pragma once
// Erlang's port mapper (epmd) for the RabbitMQ nodes of one test program: a child of ours on a free
// loopback port. An Erlang node starts epmd itself when none answers, as a daemon on the fixed port
// 4369 that outlives the node, the test and the CI job, and that every later node on the machine
// (another test's, the user's own RabbitMQ) then shares. Ours is killed with us, and nodes and
// rabbitmqctl find it through ERL_EPMD_PORT.
#include <sys/types.h>

#include <cstdint>
#include <string>

namespace mqttsn::test {

class ErlangPortMapper {
 public:
  ErlangPortMapper();  // starts epmd and waits until it accepts; throws
  ~ErlangPortMapper();
  ErlangPortMapper(const ErlangPortMapper&) = delete;
  ErlangPortMapper& operator=(const ErlangPortMapper&) = delete;

  std::uint16_t port() const { return port_; }
  // Points the calling process (a forked node, before exec) at this epmd.
  void export_to_environment() const;
  // The same as a shell prefix, for commands run through a shell ("ERL_EPMD_PORT=... ").
  std::string shell_environment() const;

 private:
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace mqttsn::test
