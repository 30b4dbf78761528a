#include "tools/bench/processes.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <string_view>
#include <thread>

#include "tools/process/loopback_port.hpp"
#include "tools/process/spawn_child.hpp"

namespace mqttsn::bench {

Child::~Child() {
  stop();
}

std::string Child::spawn(const std::vector<std::string>& argv, int stdout_fd, int stderr_fd,
                         const std::vector<std::string>& env) {
  if (argv.empty()) return "empty command";
  // `env` entries replace the same names of this process's environment.
  std::vector<std::string> merged;
  for (char** e = environ; e && *e; ++e) {
    const std::string_view kv(*e);
    const auto name = kv.substr(0, kv.find('=') + 1);
    bool replaced = false;
    for (const auto& x : env) replaced = replaced || x.compare(0, name.size(), name) == 0;
    if (!replaced) merged.emplace_back(kv);
  }
  merged.insert(merged.end(), env.begin(), env.end());
  ChildSpec spec;
  spec.argv = argv;
  spec.env = std::move(merged);
  spec.stdout_fd = stdout_fd;
  spec.stderr_fd = stderr_fd;
  spec.death_signal = SIGTERM;
  spec.search_path = true;
  const pid_t pid = spawn_child(spec);
  if (pid < 0) return std::string("fork: ") + std::strerror(errno);
  pid_ = pid;
  return {};
}

bool Child::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

int Child::wait(double timeout_s) {
  if (pid_ <= 0) return -1;
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  for (;;) {
    int status = 0;
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    if (r < 0 || std::chrono::steady_clock::now() >= end) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void Child::stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  if (wait(2.0) == -1 && pid_ > 0) {
    kill(pid_, SIGKILL);
    wait(2.0);
  }
  pid_ = -1;
}

bool wait_tcp_port(int port, double timeout_s) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (std::chrono::steady_clock::now() < end) {
    if (loopback_port_accepts(port)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

namespace {

// Starts mosquitto with the configuration in `dir`; waits until it listens on `port`.
std::string spawn_mosquitto(Child& child, const std::string& binary, const std::string& dir, int port) {
  const int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
  auto err = child.spawn({binary, "-c", dir + "/mosquitto.conf"}, devnull, -1);
  if (devnull >= 0) close(devnull);
  if (!err.empty()) return err;
  if (!wait_tcp_port(port, 5)) return "mosquitto did not listen on port " + std::to_string(port);
  return {};
}

}  // namespace

std::string start_mosquitto(Child& child, const std::string& binary, const std::string& dir,
                            std::string& host_port, int port, bool persistence,
                            const std::vector<std::string>& lines) {
  if (port == 0) port = free_loopback_port();
  if (port <= 0) return "no free TCP port";
  const std::string conf = dir + "/mosquitto.conf";
  {
    std::ofstream f(conf);
    // max_queued_messages / max_inflight_messages 0 = no limit: a subscriber that falls behind gets
    // its messages late rather than never, so a loss is the gateway's and not the meter's.
    f << "listener " << port << " 127.0.0.1\n"
      << "allow_anonymous true\n"
      << "max_queued_messages 0\n"
      << "max_inflight_messages 0\n"
      << "log_dest stderr\n"
      << "log_type error\n";
    if (persistence) {
      // Saved on SIGTERM, read back at start. Started as root, mosquitto would become user
      // "mosquitto" and could not write into our private directory.
      f << "persistence true\n"
        << "persistence_location " << dir << "/\n"
        << "autosave_interval 0\n";
      if (geteuid() == 0) f << "user root\n";
    } else
      f << "persistence false\n";
    for (const auto& line : lines) f << line << "\n";
    if (!f) return "cannot write " + conf;
  }
  host_port = "127.0.0.1:" + std::to_string(port);
  return spawn_mosquitto(child, binary, dir, port);
}

}  // namespace mqttsn::bench
