#pragma once
// What /proc says about a process: CPU time of all its threads (exited ones included, as the kernel
// folds them into the process totals), resident memory, context switches summed over its live
// threads (the wake-ups of an idle event loop), the bytes it sent towards the disk, plus the
// kernel's UDP drop counters.
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
  // /proc/<pid>/io (readable by the same user or root; io false when it was not). write_bytes: what
  // the process caused to be written to the block layer, counted when it dirties a page-cache page
  // (so per 4 KiB page, and again when a page written back is dirtied again); cancelled: dirty pages
  // dropped before write-back (a file truncated or deleted). tmpfs counts nothing.
  bool io = false;
  std::uint64_t write_bytes = 0;
  std::uint64_t cancelled_write_bytes = 0;
  std::uint64_t wchar = 0;  // bytes handed to write()-like calls, any file or socket
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
