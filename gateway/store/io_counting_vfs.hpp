#pragma once
// A SQLite VFS that wraps the default one (unix) and forwards every call, counting what the
// gateway's SQLite files cost the disk (an SD card on a Raspberry Pi): bytes written, write calls
// and syncs. Every SQLite file of the gateway is opened through it (sql::open). It is registered
// under its own name, never as the default VFS, so other SQLite users in the process are untouched.
//
// The counts are per process, across every file opened through it (the store, the upstream records
// file, a test's second connection), and may be read from any thread. Counting is a relaxed atomic
// add per call: nothing next to the system call it counts.
//
// Test and benchmark knob: every xSync can sleep a configurable delay before it is forwarded, to
// make a fast disk behave like an SD card (whose fsync takes 5-20 ms). The environment variable
// MQTTSN_STORE_SYNC_DELAY_MS (milliseconds, fractions allowed, e.g. "10" or "0.5") is read once,
// when the VFS is registered, so a benchmark or an end-to-end test can slow the real daemon's disk
// without a configuration option; set_sync_delay() changes it at run time. Unset or 0 in production.
#include <chrono>
#include <cstdint>

namespace mqttsn::store::io {

// The VFS's name for sqlite3_open_v2. Registers it on the first call (thread-safe, once per
// process). nullptr if it could not be registered (no default VFS): sqlite3_open_v2 then uses the
// default VFS, uncounted.
const char* vfs_name();

struct IoCounts {
  std::uint64_t bytes_written = 0;  // sum of the amounts of successful xWrite calls
  std::uint64_t writes = 0;         // successful xWrite calls
  std::uint64_t syncs = 0;          // xSync calls (each an fsync/fdatasync, failed or not)
};

// Since the process started (registration). Each field is read on its own: a snapshot taken while
// another thread writes may mix counts from just before and just after one of its calls.
IoCounts counts();

// The delay every xSync sleeps before it is forwarded (0: none). Registers the VFS first, so a
// delay set here wins over MQTTSN_STORE_SYNC_DELAY_MS.
void set_sync_delay(std::chrono::microseconds delay);
std::chrono::microseconds sync_delay();

}  // namespace mqttsn::store::io
