#include "tools/bench/sync_tracer.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace mqttsn::bench {
namespace {

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::optional<std::map<std::string, std::uint64_t>> parse_strace_summary(const std::string& text) {
  // % time     seconds  usecs/call     calls    errors syscall
  // ------ ----------- ----------- --------- --------- ----------------
  //   0.00    0.000000           0         2         1 fsync
  //   0.00    0.000000           0         2           fdatasync
  // ------ ----------- ----------- --------- --------- ----------------
  // 100.00    0.000000           0         4         1 total
  std::map<std::string, std::uint64_t> calls;
  std::istringstream lines(text);
  bool header = false;
  for (std::string line; std::getline(lines, line);) {
    if (line.find("% time") != std::string::npos) {
      header = true;
      continue;
    }
    if (line.empty() || line.front() == '-') continue;
    std::istringstream words(line);
    std::vector<std::string> w;
    for (std::string x; words >> x;) w.push_back(x);
    if (!header || w.size() < 5) return std::nullopt;
    if (w.back() == "total") continue;
    char* end = nullptr;
    const auto n = std::strtoull(w[3].c_str(), &end, 10);
    if (!end || *end != '\0') return std::nullopt;
    calls[w.back()] += n;
  }
  if (!header && !calls.empty()) return std::nullopt;
  if (!header && text.find_first_not_of(" \n") != std::string::npos) return std::nullopt;
  return calls;
}

std::string SyncTracer::start(const std::string& strace_bin, pid_t pid, const std::string& dir) {
  summary_ = dir + "/strace-summary.txt";
  messages_ = dir + "/strace-messages.txt";
  const int fd = open(messages_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  auto err = strace_.spawn(
      {strace_bin, "-f", "-c", "-e", "trace=fsync,fdatasync", "-o", summary_, "-p", std::to_string(pid)}, fd,
      fd);
  if (fd >= 0) close(fd);
  if (!err.empty()) return strace_bin + ": " + err;
  // strace writes "Process N attached" once per thread; wait for the first (then a moment for the
  // other threads), or for it to give up (not installed, ptrace refused).
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < end) {
    if (!strace_.running()) return "strace exited: " + read_all(messages_);
    if (read_all(messages_).find("attached") != std::string::npos) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      started_ = true;
      return {};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  strace_.stop();
  return "strace did not attach within 5 s: " + read_all(messages_);
}

nlohmann::json SyncTracer::stop() {
  if (!started_) return {{"error", "strace was not attached"}};
  started_ = false;
  if (strace_.pid() > 0) ::kill(strace_.pid(), SIGINT);  // detach and write the summary
  if (strace_.wait(10) == -1) {
    strace_.stop();
    return {{"error", "strace did not exit after SIGINT"}};
  }
  const auto counts = parse_strace_summary(read_all(summary_));
  if (!counts) return {{"error", "unreadable strace summary in " + summary_}};
  const auto get = [&](const char* k) {
    const auto it = counts->find(k);
    return it == counts->end() ? std::uint64_t{0} : it->second;
  };
  return {
      {"fsync", get("fsync")}, {"fdatasync", get("fdatasync")}, {"calls", get("fsync") + get("fdatasync")}};
}

}  // namespace mqttsn::bench
