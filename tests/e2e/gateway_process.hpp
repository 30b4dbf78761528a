#pragma once
// The real mqttsn-gw, as a child process of a test: a configuration written into a temp dir, the
// program started from the build tree, the status socket queried like mqttsn-gwctl does, signals
// sent, the exit awaited. Its log goes to a file the failure messages can show.
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "support/temp_dir.hpp"

namespace mqttsn::test {

class GatewayProcess {
 public:
  // `config_body` is TOML without the [status] section (added here: the socket lives in the temp
  // dir). `{dir}` in it is replaced by the temp dir's path.
  explicit GatewayProcess(std::string config_body, std::string tag = "gw");
  // Stops a running gateway with SIGTERM (so a sanitized build reports leaks at exit), SIGKILL if it
  // does not exit in time; then fails the current test if the log holds a sanitizer report.
  ~GatewayProcess();
  GatewayProcess(const GatewayProcess&) = delete;
  GatewayProcess& operator=(const GatewayProcess&) = delete;

  // An environment variable for the program's next start (e.g. MQTTSN_STORE_SYNC_DELAY_MS).
  void set_env(std::string name, std::string value);
  // Starts the program and waits until its status socket answers. False on failure (see log()).
  bool start(std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));
  bool running();
  void signal(int signum);
  // Waits for the process to exit; its exit status, or nullopt on timeout.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  void kill_hard();  // SIGKILL and reap

  // One status request; a JSON null when the socket does not answer.
  nlohmann::json status(const std::string& request) const;
  // Waits until `pred(status(request))` holds.
  bool wait_status(const std::string& request, const std::function<bool(const nlohmann::json&)>& pred,
                   std::chrono::milliseconds timeout = std::chrono::milliseconds(5000),
                   std::chrono::milliseconds poll = std::chrono::milliseconds(20)) const;

  // Waits until `stats` says the upstream connection is up (QoS 0/-1 sent before that is dropped).
  bool wait_upstream_connected(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) const;
  // Waits until `subscriptions` lists `filter` as subscribed at the broker (no longer "pending").
  bool wait_subscribed_upstream(const std::string& filter,
                                std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) const;

  // Runs the real mqttsn-gwctl against this gateway's socket: `mqttsn-gwctl --socket S args...`.
  struct CommandOutput {
    int exit_status = -1;
    std::string out;  // stdout only
  };
  CommandOutput gwctl(const std::vector<std::string>& args) const;

  std::string log() const;
  // Waits until the log contains `text` (searching from byte `from`); returns the position after
  // the match, or nullopt on timeout.
  std::optional<std::size_t> wait_log(
      const std::string& text, std::size_t from = 0,
      std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) const;
  // The lines around an AddressSanitizer / UndefinedBehaviorSanitizer / LeakSanitizer report in
  // the log, or "" when there is none.
  std::string sanitizer_report() const;
  const TempDir& dir() const { return dir_; }
  std::string socket_path() const { return dir_.file("status.sock"); }
  std::string config_path() const { return dir_.file("gateway.toml"); }
  pid_t pid() const { return pid_; }

 private:
  TempDir dir_;
  std::vector<std::string> extra_env_;  // NAME=value
  pid_t pid_ = -1;
  std::optional<int> exit_status_;
};

// The build tree's programs.
std::string gateway_binary();
std::string gwctl_binary();

}  // namespace mqttsn::test
