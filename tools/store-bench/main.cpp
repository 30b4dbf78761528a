// mqttsn-store-bench: adds N uplink messages to a fresh store, committing every B (the daemon
// commits once per loop turn, so B is "messages arriving per turn"), and prints per batch size:
//  - msgs/s and commits/s (each commit is one WAL fsync with synchronous=FULL);
//  - bytes the process wrote (wchar: write syscalls, and write_bytes: what reached the block
//    layer, the SD card's budget) per message;
//  - database size per 1,000 queued messages, open (db + -wal) and after close (checkpointed);
//  - the time to reopen the store with all N queued (quick_check reads the whole file).
// Usage: mqttsn-store-bench [--count N] [--batch B[,B...]] [--payload BYTES] [--dir DIR]
// DIR defaults to $TMPDIR or /var/tmp: put it on the card the gateway will use to measure that card.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gateway/store/store.hpp"

namespace fs = std::filesystem;
using namespace mqttsn::store;

namespace {

struct Options {
  std::size_t count = 10000;
  std::vector<std::size_t> batches{1, 10, 100};
  std::size_t payload = 32;
  fs::path dir;
};

struct IoCounters {
  std::uint64_t wchar = 0;
  std::uint64_t write_bytes = 0;
};

IoCounters read_io() {
  IoCounters c;
  std::ifstream in("/proc/self/io");
  std::string key;
  std::uint64_t value;
  while (in >> key >> value) {
    if (key == "wchar:") c.wchar = value;
    if (key == "write_bytes:") c.write_bytes = value;
  }
  return c;
}

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "mqttsn-store-bench: %s\nusage: mqttsn-store-bench [--count N] [--batch B[,B...]] "
               "[--payload BYTES] [--dir DIR]\n",
               why);
  std::exit(2);
}

std::size_t number(const char* s) {
  char* end = nullptr;
  unsigned long long v = std::strtoull(s, &end, 10);
  if (end == s || *end != '\0' || v == 0) usage("expected a positive number");
  return static_cast<std::size_t>(v);
}

Options parse(int argc, char** argv) {
  Options o;
  const char* tmp = std::getenv("TMPDIR");
  o.dir = tmp != nullptr && *tmp != '\0' ? tmp : "/var/tmp";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) usage(("missing value after " + a).c_str());
    const char* v = argv[++i];
    if (a == "--count") {
      o.count = number(v);
    } else if (a == "--payload") {
      o.payload = number(v);
    } else if (a == "--dir") {
      o.dir = v;
    } else if (a == "--batch") {
      o.batches.clear();
      std::stringstream ss(v);
      for (std::string part; std::getline(ss, part, ',');) o.batches.push_back(number(part.c_str()));
    } else {
      usage(("unknown option " + a).c_str());
    }
  }
  return o;
}

bool run(const Options& o, std::size_t batch) {
  const fs::path db = o.dir / ("mqttsn-store-bench-" + std::to_string(getpid()) + ".db");
  StoreLimits limits;
  limits.max_uplink_messages = o.count;
  limits.max_uplink_bytes = o.count * (o.payload + 64);
  OpenReport report;
  std::string error;
  auto store = Store::open(db, limits, report, error);
  if (!store) {
    std::fprintf(stderr, "mqttsn-store-bench: %s\n", error.c_str());
    return false;
  }
  std::vector<std::uint8_t> payload(o.payload);
  for (std::size_t j = 0; j < payload.size(); ++j) payload[j] = static_cast<std::uint8_t>(j * 31 + 7);

  const IoCounters io0 = read_io();
  const auto t0 = std::chrono::steady_clock::now();
  bool ok = true;
  for (std::size_t i = 0; i < o.count && ok; ++i) {
    // A typical sensor topic of ~20 octets, one of 50 nodes.
    const std::string client = "node-" + std::to_string(i % 50);
    const std::string topic = "sensors/" + client + "/temp";
    ok = store->add_uplink(client, topic, payload, 1, false) > 0;
    if ((i + 1) % batch == 0 || i + 1 == o.count) ok = ok && store->commit();
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const IoCounters io1 = read_io();
  const StoreStats st = store->stats();
  store.reset();
  std::error_code ec;
  const auto closed_bytes = fs::file_size(db, ec);
  // Start-up cost with this many messages queued: open runs quick_check over the whole file.
  const auto r0 = std::chrono::steady_clock::now();
  auto reopened = Store::open(db, limits, report, error);
  const double reopen_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - r0).count();
  ok = ok && reopened && reopened->load_uplink().size() == o.count;
  reopened.reset();
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(db.string() + suffix, ec);
  if (!ok) {
    std::fprintf(stderr, "mqttsn-store-bench: a write or the reopen failed (errors=%llu)\n",
                 static_cast<unsigned long long>(st.errors));
    return false;
  }

  const double n = static_cast<double>(o.count);
  std::printf("%6zu %10.0f %9llu %10.0f %12.0f %14.0f %16.0f %18.0f %10.1f\n", batch, n / secs,
              static_cast<unsigned long long>(st.commits), static_cast<double>(st.commits) / secs,
              static_cast<double>(io1.wchar - io0.wchar) / n,
              static_cast<double>(io1.write_bytes - io0.write_bytes) / n,
              static_cast<double>(st.file_bytes) / (n / 1000), static_cast<double>(closed_bytes) / (n / 1000),
              reopen_ms);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  std::printf("store bench: %zu messages, %zu-byte payload, topic ~20 B, in %s\n", o.count, o.payload,
              o.dir.c_str());
  std::printf("%6s %10s %9s %10s %12s %14s %16s %18s %10s\n", "batch", "msgs/s", "commits", "commits/s",
              "wchar/msg", "disk_wr/msg", "open_B/1k_msgs", "closed_B/1k_msgs", "reopen_ms");
  for (std::size_t b : o.batches) {
    if (!run(o, b)) return 1;
  }
  return 0;
}
