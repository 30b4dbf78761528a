#include "support/erlang_port_mapper.hpp"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <thread>

#include "tools/process/loopback_port.hpp"
#include "tools/process/spawn_child.hpp"

namespace mqttsn::test {

namespace {

constexpr const char* kEpmd = "epmd";  // /usr/bin/epmd (erlang-base, a dependency of rabbitmq-server)

}  // namespace

ErlangPortMapper::ErlangPortMapper() {
  for (int attempt = 0; attempt < 3 && pid_ < 0; ++attempt) {
    const int port = free_loopback_port();
    if (port < 0) throw std::runtime_error("cannot bind a loopback port");
    ChildSpec spec;
    // In the foreground (no -daemon): it stays our child, and dies with us.
    spec.argv = {kEpmd, "-address", "127.0.0.1", "-port", std::to_string(port)};
    spec.search_path = true;
    spec.close_other_fds = true;
    // Quiet: it complains on stderr about every probe below (a connect without a request).
    const int null_fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    spec.stdout_fd = null_fd;
    spec.stderr_fd = null_fd;
    const pid_t pid = spawn_child(spec);
    if (null_fd >= 0) ::close(null_fd);
    if (pid < 0) throw std::runtime_error("fork failed");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      if (waitpid(pid, &status, WNOHANG) == pid) break;  // exec failed, or the port was taken
      if (loopback_port_accepts(port)) {
        pid_ = pid;
        port_ = static_cast<std::uint16_t>(port);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ::kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
      throw std::runtime_error("epmd not found: install erlang-base (scripts/install-deps.sh)");
  }
  throw std::runtime_error("epmd did not start on a free loopback port");
}

ErlangPortMapper::~ErlangPortMapper() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
}

void ErlangPortMapper::export_to_environment() const {
  setenv("ERL_EPMD_PORT", std::to_string(port_).c_str(), 1);
  setenv("ERL_EPMD_ADDRESS", "127.0.0.1", 1);
}

std::string ErlangPortMapper::shell_environment() const {
  return "ERL_EPMD_PORT=" + std::to_string(port_) + " ERL_EPMD_ADDRESS=127.0.0.1 ";
}

}  // namespace mqttsn::test
