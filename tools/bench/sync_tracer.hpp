#pragma once
// Counts a process's fsync and fdatasync calls from outside it: `strace -f -c -e
// trace=fsync,fdatasync -p PID` attached for a measuring window, its summary read at the end. A
// cross-check of what the gateway says of its own syncs. ptrace stops the traced threads at every
// system call, so the traced process's CPU figures are not comparable with an untraced run.
#include <sys/types.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "tools/bench/processes.hpp"

namespace mqttsn::bench {

// Calls per system call in the table `strace -c` writes (errors included in calls). An empty text
// (strace writes nothing when nothing was called) is an empty map; nullopt when it is not such a table.
std::optional<std::map<std::string, std::uint64_t>> parse_strace_summary(const std::string& text);

class SyncTracer {
 public:
  // Attaches strace to every thread of `pid`; its summary and messages go to files in `dir`. Returns
  // when strace says it attached: error text or empty.
  std::string start(const std::string& strace_bin, pid_t pid, const std::string& dir);
  // Detaches and reads the summary: {"fsync": n, "fdatasync": m, "calls": n + m} or {"error": text}.
  nlohmann::json stop();

 private:
  Child strace_;
  std::string summary_, messages_;
  bool started_ = false;
};

}  // namespace mqttsn::bench
