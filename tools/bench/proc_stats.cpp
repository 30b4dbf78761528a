#include "tools/bench/proc_stats.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tools/bench/payload.hpp"

namespace mqttsn::bench {
namespace {

std::optional<std::string> slurp(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Value of a "Key:   123 kB" line in a /proc status file, 0 when absent.
std::uint64_t status_field(const std::string& text, const std::string& key) {
  const auto at = text.find("\n" + key + ":");
  if (at == std::string::npos) return 0;
  return std::strtoull(text.c_str() + at + key.size() + 2, nullptr, 10);
}

}  // namespace

std::optional<ProcSample> sample_process(pid_t pid) {
  const std::string base = "/proc/" + std::to_string(pid);
  const auto stat = slurp(base + "/stat");
  const auto status = slurp(base + "/status");
  if (!stat || !status) return std::nullopt;
  ProcSample s;
  s.taken_ns = now_ns();
  // The command name (field 2) may hold spaces and parentheses: fields restart after the last ')'.
  const auto close = stat->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(stat->substr(close + 2));
  std::vector<std::string> f;
  for (std::string w; fields >> w;) f.push_back(w);
  // After ')': state is field 3, so utime (14) and stime (15) sit at indexes 11 and 12.
  if (f.size() < 13) return std::nullopt;
  const auto ticks = std::stoull(f[11]) + std::stoull(f[12]);
  const auto hz = static_cast<std::uint64_t>(sysconf(_SC_CLK_TCK));
  s.cpu_us = ticks * 1'000'000ULL / (hz ? hz : 100);
  s.rss_kb = status_field(*status, "VmRSS");
  s.hwm_kb = status_field(*status, "VmHWM");
  s.threads = status_field(*status, "Threads");
  if (const auto io = slurp(base + "/io"); io && !io->empty()) {
    // "key: value" lines; the first one has no newline before it.
    const std::string text = "\n" + *io;
    s.io = true;
    s.write_bytes = status_field(text, "write_bytes");
    s.cancelled_write_bytes = status_field(text, "cancelled_write_bytes");
    s.wchar = status_field(text, "wchar");
  }
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator(base + "/task", ec)) {
    if (const auto t = slurp(task.path().string() + "/status")) {
      s.ctx_switches +=
          status_field(*t, "voluntary_ctxt_switches") + status_field(*t, "nonvoluntary_ctxt_switches");
    }
  }
  return s;
}

UdpCounters read_udp_counters() {
  UdpCounters c;
  const auto text = slurp("/proc/net/snmp");
  if (!text) return c;
  // Two "Udp:" lines: the first names the columns, the second holds the values.
  std::istringstream lines(*text);
  std::vector<std::string> names, values;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("Udp:", 0) != 0) continue;
    std::istringstream words(line.substr(4));
    std::vector<std::string> w;
    for (std::string x; words >> x;) w.push_back(x);
    (names.empty() ? names : values) = w;
  }
  for (std::size_t i = 0; i < names.size() && i < values.size(); ++i) {
    const auto v = std::strtoull(values[i].c_str(), nullptr, 10);
    if (names[i] == "InErrors") c.in_errors = v;
    if (names[i] == "RcvbufErrors") c.rcvbuf_errors = v;
    if (names[i] == "SndbufErrors") c.sndbuf_errors = v;
  }
  return c;
}

std::uint64_t self_cpu_us() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto us = [](const timeval& tv) {
    return static_cast<std::uint64_t>(tv.tv_sec) * 1'000'000ULL + static_cast<std::uint64_t>(tv.tv_usec);
  };
  return us(ru.ru_utime) + us(ru.ru_stime);
}

}  // namespace mqttsn::bench
