#include "e2e/gateway_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "tools/process/spawn_child.hpp"

namespace mqttsn::test {

using namespace std::chrono_literals;

std::string gateway_binary() {
  return std::string(MQTTSN_BINARY_DIR) + "/gateway/app/mqttsn-gw";
}
std::string gwctl_binary() {
  return std::string(MQTTSN_BINARY_DIR) + "/tools/gwctl/mqttsn-gwctl";
}

GatewayProcess::GatewayProcess(std::string config_body, std::string tag) : dir_(tag) {
  const std::string dir = dir_.path().string();
  for (std::size_t at; (at = config_body.find("{dir}")) != std::string::npos;)
    config_body.replace(at, 5, dir);
  // The socket is the test's own; a test that sets other [status] keys gets it added to its table.
  const std::string socket_line = "socket = \"" + socket_path() + "\"\n";
  if (const auto at = config_body.find("\n[status]\n"); at != std::string::npos)
    config_body.insert(at + 10, socket_line);
  else
    config_body += "\n[status]\n" + socket_line;
  dir_.write("gateway.toml", config_body);
}

GatewayProcess::~GatewayProcess() {
  if (running()) {
    signal(SIGTERM);
    if (!wait_exit(10s)) kill_hard();
  }
  if (const auto report = sanitizer_report(); !report.empty())
    FAIL_CHECK("the gateway's log holds a sanitizer report:\n" << report);
}

void GatewayProcess::set_env(std::string name, std::string value) {
  extra_env_.push_back(name + "=" + value);
}

bool GatewayProcess::start(std::chrono::milliseconds timeout) {
  exit_status_.reset();
  const std::string log_path = dir_.file("gateway.log");
  ChildSpec spec;
  spec.argv = {gateway_binary(), "--config", config_path(), "-vv"};
  spec.env.emplace();
  for (char** e = environ; *e != nullptr; ++e) spec.env->emplace_back(*e);
  spec.env->insert(spec.env->end(), extra_env_.begin(), extra_env_.end());
  const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  spec.stdout_fd = spec.stderr_fd = log;
  // Dies with the test: a test that crashes must not leave a gateway behind that keeps reopening
  // its device path (a pty number the next test may be given). Not every descriptor of the test is
  // close-on-exec (the simulator's pty master is not): the gateway must not hold a copy, or closing
  // the pty would not look like an unplug.
  spec.death_signal = SIGKILL;
  spec.close_other_fds = true;
  pid_ = spawn_child(spec);
  if (log >= 0) ::close(log);
  if (pid_ < 0) return false;
  // Give up at once when the program exits (a configuration error, a sanitizer abort).
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until && running()) {
    if (status("version").contains("version")) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

bool GatewayProcess::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  const pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    pid_ = -1;
    return false;
  }
  return true;
}

void GatewayProcess::signal(int signum) {
  if (pid_ > 0) ::kill(pid_, signum);
}

std::optional<int> GatewayProcess::wait_exit(std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (!running()) return exit_status_;
    std::this_thread::sleep_for(10ms);
  }
  return std::nullopt;
}

void GatewayProcess::kill_hard() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  exit_status_ = 128 + SIGKILL;
  pid_ = -1;
}

nlohmann::json GatewayProcess::status(const std::string& request) const {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return nullptr;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string path = socket_path();
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return nullptr;
  }
  const std::string line = request + "\n";
  if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    ::close(fd);
    return nullptr;
  }
  std::string reply;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    reply.append(buf, static_cast<std::size_t>(n));
    if (reply.back() == '\n') break;
  }
  ::close(fd);
  auto doc = nlohmann::json::parse(reply, nullptr, false);
  return doc.is_discarded() ? nlohmann::json(nullptr) : doc;
}

bool GatewayProcess::wait_status(const std::string& request,
                                 const std::function<bool(const nlohmann::json&)>& pred,
                                 std::chrono::milliseconds timeout, std::chrono::milliseconds poll) const {
  const auto until = std::chrono::steady_clock::now() + timeout;
  do {
    const auto j = status(request);
    if (!j.is_null() && pred(j)) return true;
    std::this_thread::sleep_for(poll);
  } while (std::chrono::steady_clock::now() < until);
  return false;
}

bool GatewayProcess::wait_upstream_connected(std::chrono::milliseconds timeout) const {
  return wait_status(
      "stats", [](const nlohmann::json& j) { return j["upstream"].value("state", "") == "connected"; },
      timeout);
}

bool GatewayProcess::wait_subscribed_upstream(const std::string& filter,
                                              std::chrono::milliseconds timeout) const {
  return wait_status(
      "subscriptions",
      [&](const nlohmann::json& j) {
        for (const auto& s : j["subscriptions"])
          if (s["filter"] == filter && s["upstream"] != "pending") return true;
        return false;
      },
      timeout);
}

GatewayProcess::CommandOutput GatewayProcess::gwctl(const std::vector<std::string>& args) const {
  CommandOutput result;
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return result;
  // Built before fork(): Paho's threads may hold the allocator's lock in the child.
  std::vector<std::string> argv{gwctl_binary(), "--socket", socket_path()};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], 1);
    const int null = ::open("/dev/null", O_WRONLY);
    if (null >= 0) ::dup2(null, 2);
    ::close_range(3, ~0U, 0);
    ::execv(cargv[0], cargv.data());
    _exit(127);
  }
  ::close(out[1]);
  if (pid < 0) {
    ::close(out[0]);
    return result;
  }
  char buf[4096];
  for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;)
    result.out.append(buf, static_cast<std::size_t>(n));
  ::close(out[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string GatewayProcess::log() const {
  std::ifstream in(dir_.file("gateway.log"));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::optional<std::size_t> GatewayProcess::wait_log(const std::string& text, std::size_t from,
                                                    std::chrono::milliseconds timeout) const {
  const auto until = std::chrono::steady_clock::now() + timeout;
  do {
    const auto at = log().find(text, from);
    if (at != std::string::npos) return at + text.size();
    std::this_thread::sleep_for(20ms);
  } while (std::chrono::steady_clock::now() < until);
  return std::nullopt;
}

std::string GatewayProcess::sanitizer_report() const {
  const std::string text = log();
  for (const char* marker : {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                             "WARNING: AddressSanitizer", "ERROR: UndefinedBehaviorSanitizer"}) {
    const auto at = text.find(marker);
    if (at == std::string::npos) continue;
    const auto begin = text.rfind('\n', at);
    return text.substr(begin == std::string::npos ? 0 : begin + 1, 4000);
  }
  return {};
}

}  // namespace mqttsn::test
