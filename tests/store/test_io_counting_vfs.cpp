// The counting VFS every SQLite file of the gateway is opened through: what a commit costs the disk
// (bytes, syncs), from one thread or several, the sync delay that makes a fast disk as slow as an SD
// card, and the page size and checkpoint interval that new files get.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#include "gateway/store/database_file.hpp"
#include "gateway/store/io_counting_vfs.hpp"
#include "gateway/store/schema.hpp"
#include "gateway/store/upstream_records.hpp"
#include "store_test_util.hpp"
#include "support/temp_dir.hpp"

using namespace mqttsn::store;
using mqttsn::store::test::bytes;
using mqttsn::store::test::must_open;
using mqttsn::store::test::RawDb;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t kFrameHeader = 24;  // each page a commit changes goes to the WAL behind one

struct IoDelta {
  std::uint64_t bytes_written, writes, syncs;
};

IoDelta since(const io::IoCounts& before) {
  const io::IoCounts now = io::counts();
  return {now.bytes_written - before.bytes_written, now.writes - before.writes, now.syncs - before.syncs};
}

std::int64_t wal_size(const fs::path& db) {
  return static_cast<std::int64_t>(fs::file_size(db.string() + "-wal"));
}

// Sets the sync delay for one test, and puts the previous one back.
class SyncDelay {
 public:
  explicit SyncDelay(std::chrono::microseconds d) : before_(io::sync_delay()) { io::set_sync_delay(d); }
  ~SyncDelay() { io::set_sync_delay(before_); }
  SyncDelay(const SyncDelay&) = delete;
  SyncDelay& operator=(const SyncDelay&) = delete;

 private:
  std::chrono::microseconds before_;
};

const std::vector<std::uint8_t> kPayload(76, 0x5A);  // with topic and client id: a ~100-byte row

std::unique_ptr<UpstreamRecords> must_open_records(const fs::path& p) {
  OpenReport report;
  std::string error;
  auto r = UpstreamRecords::open(p, report, error);
  INFO("open error: " << error);
  REQUIRE(r != nullptr);
  return r;
}

// A file made the way the gateway made them before it chose its page size: 4096-byte pages.
void make_old_file(const fs::path& p) {
  RawDb raw(p);
  raw.exec("PRAGMA page_size=4096");
  raw.exec("PRAGMA journal_mode=WAL");
  const auto m = schema::migrate(raw.get(), schema::migrations());
  REQUIRE(m.status == schema::MigrateResult::Status::ok);
  raw.exec("INSERT INTO uplink (client_id, topic, payload, qos, retain) VALUES ('n', 't', x'01', 1, 0)");
}

}  // namespace

TEST_CASE("io: registered under its own name, not as the default VFS, and every connection uses it") {
  const char* name = io::vfs_name();
  REQUIRE(name != nullptr);
  CHECK(io::vfs_name() == name);  // registered once
  sqlite3_vfs* ours = sqlite3_vfs_find(name);
  REQUIRE(ours != nullptr);
  CHECK(sqlite3_vfs_find(nullptr) != ours);

  mqttsn::test::TempDir dir("store-io");
  RawDb raw(dir.path() / "gw.db");  // sql::open, as the store and the upstream records file open
  sqlite3_vfs* used = nullptr;
  REQUIRE(sqlite3_file_control(raw.get(), "main", SQLITE_FCNTL_VFS_POINTER, &used) == SQLITE_OK);
  CHECK(used == ours);
}

TEST_CASE("io: a commit's bytes are the frames it appended to the WAL, with one sync") {
  mqttsn::test::TempDir dir("store-io");
  const auto db = dir.path() / "gw.db";
  auto s = must_open(db);
  const std::int64_t frame = RawDb(db).integer("PRAGMA page_size") + kFrameHeader;
  REQUIRE(s->add_uplink("node-01", "sensors/room1/tmp", kPayload, 1, false) > 0);
  REQUIRE(s->commit());

  for (int n : {1, 10, 100}) {
    CAPTURE(n);
    const auto wal_before = wal_size(db);
    const auto before = io::counts();
    std::vector<std::int64_t> ids;
    for (int i = 0; i < n; ++i)
      ids.push_back(s->add_uplink("node-01", "sensors/room1/tmp", kPayload, 1, false));
    REQUIRE(s->commit());
    const IoDelta d = since(before);
    const auto grown = wal_size(db) - wal_before;
    CHECK(grown > 0);
    CHECK(grown % frame == 0);
    CHECK(d.bytes_written == static_cast<std::uint64_t>(grown));
    CHECK(d.writes >= static_cast<std::uint64_t>(grown / frame));
    CHECK(d.syncs == 1);  // WAL + synchronous=FULL: the commit syncs the WAL once

    // The matching deletes: one commit, one sync.
    const auto del_before = io::counts();
    for (auto id : ids) s->remove_uplink(id);
    REQUIRE(s->commit());
    const IoDelta dd = since(del_before);
    CHECK(dd.bytes_written > 0);
    CHECK(dd.syncs == 1);
  }

  // The store's stats carry the same process-wide counts.
  const auto st = s->stats();
  const auto now = io::counts();
  CHECK(st.bytes_written == now.bytes_written);
  CHECK(st.syncs == now.syncs);
  CHECK(st.errors == 0);
}

TEST_CASE("io: a new store's one-row commit writes two 1 KiB pages, a one-row delete one") {
  mqttsn::test::TempDir dir("store-io");
  const auto db = dir.path() / "gw.db";
  auto s = must_open(db);
  CHECK(RawDb(db).integer("PRAGMA page_size") == 1024);
  REQUIRE(s->add_uplink("node-01", "sensors/room1/tmp", kPayload, 1, false) > 0);
  REQUIRE(s->commit());
  for (int i = 0; i < 20; ++i) {
    CAPTURE(i);
    auto before = io::counts();
    const auto id = s->add_uplink("node-01", "sensors/room1/tmp", kPayload, 1, false);
    REQUIRE(id > 0);
    REQUIRE(s->commit());
    // The table's leaf and sqlite_sequence (AUTOINCREMENT); 8240 bytes with 4096-byte pages.
    CHECK(since(before).bytes_written == 2 * (1024 + kFrameHeader));
    before = io::counts();
    s->remove_uplink(id);
    REQUIRE(s->commit());
    CHECK(since(before).bytes_written == 1024 + kFrameHeader);
  }
}

TEST_CASE(
    "io: new files get 1 KiB pages and existing files keep theirs with a checkpoint every ~4 MB of WAL") {
  mqttsn::test::TempDir dir("store-io");
  const dbfile::Layout layout{"store", schema::migrations(), std::span<const char* const>(), "FULL"};

  const auto old_db = dir.path() / "old.db";
  make_old_file(old_db);
  {
    sql::Db db;
    int version = 0;
    sql::Error err;
    REQUIRE(dbfile::open_checked(old_db, layout, db, version, err) == dbfile::Outcome::ok);
    CHECK(*sql::query_int(db.get(), "PRAGMA page_size", err) == 4096);
    CHECK(*sql::query_int(db.get(), "PRAGMA wal_autocheckpoint", err) == 1000);  // SQLite's default
  }
  {
    auto s = must_open(old_db);
    CHECK(s->load_uplink().size() == 1);
  }
  CHECK(RawDb(old_db).integer("PRAGMA page_size") == 4096);

  sql::Db db;
  int version = 0;
  sql::Error err;
  REQUIRE(dbfile::open_checked(dir.path() / "new.db", layout, db, version, err) == dbfile::Outcome::ok);
  CHECK(*sql::query_int(db.get(), "PRAGMA page_size", err) == 1024);
  CHECK(*sql::query_int(db.get(), "PRAGMA wal_autocheckpoint", err) == 4000);

  const auto records = dir.path() / "new.upstream.db";
  must_open_records(records);
  CHECK(RawDb(records).integer("PRAGMA page_size") == 1024);
}

TEST_CASE("io: upstream records: every put() syncs once from the first after open and remove() never") {
  mqttsn::test::TempDir dir("store-io");
  const auto path = dir.path() / "g.upstream.db";
  const std::vector<std::uint8_t> publish(120, 0x30);
  for (int open = 0; open < 2; ++open) {
    auto r = must_open_records(path);
    for (int i = 1; i <= 5; ++i) {
      CAPTURE(open);
      CAPTURE(i);
      const std::string key = "s-" + std::to_string(i);
      auto before = io::counts();
      REQUIRE(r->put(key, publish, i));
      // On disk before Paho sends the packet. The first commit after a reopen starts a new WAL
      // (closing checkpointed and deleted the old one) and syncs its header first: two syncs.
      CHECK(since(before).syncs == (open == 1 && i == 1 ? 2u : 1u));
      before = io::counts();
      REQUIRE(r->remove(key, i));
      CHECK(since(before).syncs == 0);  // the next put()'s sync carries it
      before = io::counts();
      REQUIRE(r->forget_delivered(std::vector<std::int64_t>{i}));
      CHECK(since(before).syncs == 0);
    }
    CHECK(r->errors() == 0);
  }
}

TEST_CASE("io: counts from several threads add up") {
  mqttsn::test::TempDir dir("store-io");
  constexpr int kThreads = 3, kCommits = 30;
  std::vector<std::unique_ptr<Store>> stores;
  for (int t = 0; t < kThreads; ++t)
    stores.push_back(must_open(dir.path() / ("t" + std::to_string(t) + ".db")));
  const auto before = io::counts();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCommits; ++i) {
        stores[t]->add_uplink("n", "t", bytes("publish"), 1, false);
        stores[t]->commit();
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(since(before).syncs == kThreads * kCommits);
  for (auto& s : stores) {
    CHECK(s->stats().commits == kCommits);
    CHECK(s->stats().errors == 0);
  }
}

TEST_CASE("io: the sync delay is slept in every sync: a commit takes at least that long") {
  mqttsn::test::TempDir dir("store-io");
  const auto db = dir.path() / "gw.db";
  auto s = must_open(db);
  REQUIRE(s->add_uplink("n", "t", bytes("warm"), 1, false) > 0);
  REQUIRE(s->commit());

  const SyncDelay slow(40ms);
  CHECK(io::sync_delay() == 40ms);
  for (int n : {1, 10}) {
    for (int i = 0; i < n; ++i) REQUIRE(s->add_uplink("n", "t", bytes("slow"), 1, false) > 0);
    const auto before = io::counts();
    const auto t0 = std::chrono::steady_clock::now();
    REQUIRE(s->commit());
    const auto took = std::chrono::steady_clock::now() - t0;
    CHECK(since(before).syncs == 1);
    CHECK(took >= 40ms);
  }
  CHECK(s->stats().errors == 0);
}

// Run by the next test in a fresh process of this binary, where registration reads the variable:
// writes the delay it found to the file the parent named. Does nothing when run on its own.
TEST_CASE("io: (child) the sync delay MQTTSN_STORE_SYNC_DELAY_MS set") {
  const char* report = std::getenv("MQTTSN_TEST_SYNC_DELAY_REPORT");
  if (report == nullptr) return;
  std::ofstream(report) << io::sync_delay().count();
}

TEST_CASE(
    "io: MQTTSN_STORE_SYNC_DELAY_MS sets the delay when the VFS is registered and nonsense is ignored") {
  // This process registered the VFS long ago: run this binary again, with the variable set.
  mqttsn::test::TempDir dir("store-io");
  const std::string report = dir.file("delay");
  auto delay_us_with = [&](const char* value) -> long long {
    fs::remove(report);
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      setenv("MQTTSN_STORE_SYNC_DELAY_MS", value, 1);
      setenv("MQTTSN_TEST_SYNC_DELAY_REPORT", report.c_str(), 1);
      execl("/proc/self/exe", "store_tests",
            "--test-case=io: (child) the sync delay MQTTSN_STORE_SYNC_DELAY_MS set", "--minimal",
            static_cast<char*>(nullptr));
      _exit(127);
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
    long long us = -1;
    std::ifstream(report) >> us;
    return us;
  };
  CHECK(delay_us_with("15") == 15000);
  CHECK(delay_us_with("0.5") == 500);
  CHECK(delay_us_with("0") == 0);
  CHECK(delay_us_with("fast") == 0);
  CHECK(delay_us_with("-3") == 0);
  CHECK(delay_us_with("10ms") == 0);
}
