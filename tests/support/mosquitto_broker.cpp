#include "support/mosquitto_broker.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/run_command.hpp"
#include "tools/process/loopback_port.hpp"

namespace mqttsn::test {

namespace {

constexpr const char* kMosquitto = "/usr/sbin/mosquitto";

// A free loopback port for a listener; there is no broker to test without one.
std::uint16_t free_port() {
  const int port = free_loopback_port();
  if (port < 0) throw std::runtime_error("cannot bind a loopback port");
  return static_cast<std::uint16_t>(port);
}

}  // namespace

MosquittoBroker::MosquittoBroker(MosquittoOptions options)
    : options_(std::move(options)), dir_(std::make_unique<TempDir>("mosquitto")) {
  if (!options_.users.empty()) {
    const std::string pw = dir_->file("passwd");
    bool first = true;
    for (const auto& [user, password] : options_.users) {
      std::vector<std::string> argv{"mosquitto_passwd"};
      if (first) argv.push_back("-c");
      argv.insert(argv.end(), {"-b", pw, user, password});
      if (run_command(argv, dir_->file("passwd.log")) != 0)
        throw std::runtime_error("mosquitto_passwd failed (see " + dir_->file("passwd.log") + ")");
      first = false;
    }
  }
  if (!options_.acl.empty()) dir_->write("acl", options_.acl);
  if (options_.tls) pki_ = make_test_pki(*dir_, options_.tls_dns_names, options_.tls_ip_addresses);
  start();
}

MosquittoBroker::~MosquittoBroker() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
}

void MosquittoBroker::write_config() {
  std::ostringstream c;
  // mosquitto started as root switches to user "mosquitto", which could not read our 0700 temp dir.
  if (geteuid() == 0) {
    passwd* pw = getpwuid(geteuid());
    c << "user " << (pw != nullptr ? pw->pw_name : "root") << "\n";
  }
  c << "per_listener_settings false\n";
  c << "allow_anonymous " << (options_.allow_anonymous ? "true" : "false") << "\n";
  // A persistent subscriber must not lose messages while it reconnects (default limit: 1000).
  c << "max_queued_messages 0\n";
  c << "max_queued_bytes 0\n";
  c << "log_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\nlog_type information\n";
  c << "connection_messages true\n";
  if (options_.persistence) {
    std::filesystem::create_directories(dir_->path() / "db");
    c << "persistence true\npersistence_location " << dir_->file("db") << "/\n";
    c << "autosave_interval 0\n";
  } else {
    c << "persistence false\n";
  }
  if (!options_.users.empty()) c << "password_file " << dir_->file("passwd") << "\n";
  if (!options_.acl.empty()) c << "acl_file " << dir_->file("acl") << "\n";
  c << options_.extra_config << "\n";
  c << "listener " << port_ << " 127.0.0.1\n";
  if (options_.tls) {
    c << "listener " << tls_port_ << " 127.0.0.1\n";
    c << "cafile " << pki_.ca_cert << "\ncertfile " << pki_.server_cert << "\nkeyfile " << pki_.server_key
      << "\n";
    c << options_.tls_listener_config << "\n";
  }
  config_path_ = dir_->write("mosquitto.conf", c.str());
}

bool MosquittoBroker::launch_and_wait() {
  write_config();
  const std::string log = dir_->file("mosquitto.log");
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    execl(kMosquitto, kMosquitto, "-c", config_path_.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  pid_ = pid;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {  // exited: e.g. the port was taken meanwhile
      pid_ = -1;
      return false;
    }
    if (loopback_port_accepts(port_) && (!options_.tls || loopback_port_accepts(tls_port_))) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  stop();
  return false;
}

void MosquittoBroker::start() {
  if (pid_ > 0) return;
  const bool first = port_ == 0;
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (first) {  // a restart keeps its ports: clients reconnect to the same address
      port_ = free_port();
      if (options_.tls) tls_port_ = free_port();
    }
    if (launch_and_wait()) return;
    if (!first) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  throw std::runtime_error("mosquitto did not start; its log:\n" + log());
}

void MosquittoBroker::pause() {
  if (pid_ > 0) kill(pid_, SIGSTOP);
}

void MosquittoBroker::resume() {
  if (pid_ > 0) kill(pid_, SIGCONT);
}

void MosquittoBroker::stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  int status = 0;
  while (waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  pid_ = -1;
}

std::string MosquittoBroker::log() const {
  std::ifstream in(dir_->file("mosquitto.log"));
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace mqttsn::test
