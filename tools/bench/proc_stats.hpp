#pragma once
// What /proc says about a process: CPU time of all its threads (exited ones included, as the kernel
// folds them into the process totals), resident memory, and context switches summed over its live
// threads (the wake-ups of an idle event loop), plus the kernel's UDP drop counters.
#include <sys/types.h>
#include <cstdint>
#include <optional>

namespace mqttsn::bench {

struct ProcSample {
  std::uint64_t cpu_us = 0;        // utime + stime, /proc/<pid>/stat
  std::uint64_t rss_kb = 0;        // VmRSS
  std::uint64_t hwm_kb = 0;        // VmHWM (peak RSS)
  std::uint64_t ctx_switches = 0;  // voluntary + nonvoluntary, summed over /proc/<pid>/task/*
  std::uint64_t threads = 0;
  std::uint64_t taken_ns = 0;  // CLOCK_MONOTONIC when sampled
};

// nullopt when the process is gone or /proc cannot be read.
std::optional<ProcSample> sample_process(pid_t pid);

// System-wide UDP counters from /proc/net/snmp (drops when a socket's receive buffer was full).
struct UdpCounters {
  std::uint64_t in_errors = 0;
  std::uint64_t rcvbuf_errors = 0;
  std::uint64_t sndbuf_errors = 0;
};
UdpCounters read_udp_counters();

// This process's CPU time (all threads), microseconds, from getrusage(RUSAGE_SELF).
std::uint64_t self_cpu_us();

}  // namespace mqttsn::bench
