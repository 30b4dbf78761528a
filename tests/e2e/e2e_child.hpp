#pragma once
// Another program of the build tree as a child of an end-to-end test (mqttsn-sim): started with its
// output in a log file, awaited with a timeout, killed if still running when the object goes.
#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace mqttsn::e2e {

class ChildProcess {
 public:
  // argv[0] is the program's path. stdout and stderr go to `log_path`.
  ChildProcess(std::vector<std::string> argv, std::string log_path);
  ~ChildProcess();  // SIGKILL and reap if still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool started() const { return pid_ > 0; }
  // The exit status (128 + signal when killed), or nullopt if it still runs after `timeout`.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  std::string log() const;

 private:
  std::string log_path_;
  pid_t pid_ = -1;
};

}  // namespace mqttsn::e2e
