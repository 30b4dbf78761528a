#pragma once
// Child processes the bench starts and must stop: mosquitto, the gateway, the direct publisher.
// Each child gets PR_SET_PDEATHSIG so it dies with the bench even when the bench is killed.
#include <sys/types.h>

#include <string>
#include <vector>

namespace mqttsn::bench {

class Child {
 public:
  Child() = default;
  ~Child();  // SIGTERM, then SIGKILL after 2 s
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // argv[0] is the program (looked up in PATH). stdout_fd: -1 inherits, else dup'ed onto 1. env:
  // NAME=VALUE entries added to (or replacing in) this process's environment for the child.
  // Returns an error text or empty.
  std::string spawn(const std::vector<std::string>& argv, int stdout_fd = -1, int stderr_fd = -1,
                    const std::vector<std::string>& env = {});
  pid_t pid() const { return pid_; }
  bool running();
  // Waits for the exit; returns the exit status (or 128 + signal), -1 on timeout.
  int wait(double timeout_s);
  void stop();

 private:
  pid_t pid_ = -1;
};

// Polls until a TCP connect to 127.0.0.1:port succeeds.
bool wait_tcp_port(int port, double timeout_s);

// Starts mosquitto with limits suited to a benchmark (no queue caps that would drop messages behind a
// busy subscriber) on `port` (0: a free one). Fills host_port. `dir` holds its config file and, with
// `persistence`, the database it saves when stopped and reads back when started again (sessions and
// their queued messages survive a restart: start `binary -c dir/mosquitto.conf` again).
// `lines` are appended to its configuration.
std::string start_mosquitto(Child& child, const std::string& binary, const std::string& dir,
                            std::string& host_port, int port = 0, bool persistence = false,
                            const std::vector<std::string>& lines = {});

}  // namespace mqttsn::bench
