#pragma once
// Starting another program as a child that dies with its parent: the end-to-end tests start the
// gateway and the simulator this way, mqttsn-bench the gateway, mosquitto and its helpers. A test or
// a benchmark that crashes must leave nothing running (a gateway left behind keeps reopening a pty
// path the next test may be given, and holds its ports).
#include <sys/types.h>

#include <csignal>
#include <optional>
#include <string>
#include <vector>

namespace mqttsn {

struct ChildSpec {
  std::vector<std::string> argv;                // argv[0]: the program
  std::optional<std::vector<std::string>> env;  // "NAME=value" each; none: this process's environment
  int stdout_fd = -1;                           // becomes the child's stdout when >= 0
  int stderr_fd = -1;                           // becomes the child's stderr when >= 0
  int death_signal = SIGKILL;                   // what the child gets when its parent dies
  bool close_other_fds = false;  // close every descriptor above 2 (not all of the caller's are close-on-exec)
  bool search_path = false;      // look argv[0] up in PATH
};

// Forks and execs. Returns the child's pid, or -1 with errno set when fork() failed. A child that
// cannot exec exits with 127. Everything the child needs is built before fork(): another thread
// (Paho's) may hold the allocator's lock at that moment, and the child has only the forking thread.
pid_t spawn_child(const ChildSpec& spec);

}  // namespace mqttsn
