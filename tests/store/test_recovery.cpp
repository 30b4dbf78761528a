// A damaged, foreign or too-new file is moved aside and replaced; an unusable path is reported.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include <fstream>
#include <random>

#include "gateway/store/schema.hpp"
#include "store_test_util.hpp"
#include "support/temp_dir.hpp"

using namespace mqttsn::store;
using mqttsn::store::test::bytes;
using mqttsn::store::test::must_open;
using mqttsn::store::test::RawDb;
namespace fs = std::filesystem;

namespace {

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_all(const fs::path& p, const std::string& content) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << content;
  REQUIRE(out.good());
}

// A real database with enough rows to span many pages, closed (so the WAL is checkpointed into it).
void make_real_db(const fs::path& p) {
  auto s = must_open(p);
  std::vector<std::uint8_t> payload(900);
  for (int i = 0; i < 300; ++i) {
    for (std::size_t j = 0; j < payload.size(); ++j) payload[j] = static_cast<std::uint8_t>(i + j);
    REQUIRE(s->add_uplink("node-" + std::to_string(i % 7), "t/" + std::to_string(i), payload, 1, false) > 0);
    s->put_session("node-" + std::to_string(i), payload);
  }
  REQUIRE(s->commit());
}

// Opens a damaged file: it must be recovered, kept aside intact, and the new store must work.
void expect_recovery(const fs::path& db, std::string_view detail_part) {
  const std::string original = read_all(db);
  OpenReport report;
  std::string error;
  auto s = Store::open(db, {}, report, error);
  INFO("error: " << error << " detail: " << report.detail);
  REQUIRE(s != nullptr);
  CHECK(error.empty());
  CHECK(report.recovered);
  CHECK(report.detail.find(detail_part) != std::string::npos);
  CHECK(report.schema_version == mqttsn::store::schema::latest_version(mqttsn::store::schema::migrations()));
  REQUIRE(!report.moved_to.empty());
  CHECK(report.moved_to.parent_path() == db.parent_path());
  CHECK(report.moved_to.filename().string().rfind(db.filename().string() + ".corrupt-20", 0) == 0);
  REQUIRE(fs::exists(report.moved_to));
  CHECK(read_all(report.moved_to) == original);

  CHECK(s->load_uplink().empty());
  CHECK(s->load_sessions().empty());
  auto id = s->add_uplink("n", "t", bytes("after recovery"), 1, false);
  CHECK(id > 0);
  REQUIRE(s->commit());
  s.reset();
  auto again = must_open(db);
  REQUIRE(again->load_uplink().size() == 1);
  CHECK(again->load_uplink()[0].payload == bytes("after recovery"));
}

}  // namespace

TEST_CASE("a real database cut to half its size is moved aside") {
  mqttsn::test::TempDir dir("store");
  const auto db = dir.path() / "gw.db";
  make_real_db(db);
  REQUIRE_FALSE(fs::exists(db.string() + "-wal"));
  const auto size = fs::file_size(db);
  REQUIRE(size > 100 * 1024);
  fs::resize_file(db, size / 2);
  expect_recovery(db, "malformed");
}

TEST_CASE("a database with a garbage page in the middle fails quick_check and is moved aside") {
  mqttsn::test::TempDir dir("store");
  const auto db = dir.path() / "gw.db";
  make_real_db(db);
  std::string content = read_all(db);
  std::mt19937 rng(42);
  // Pages 3..12 (4 KiB each): b-tree pages of both tables and overflow chains.
  for (std::size_t i = 2 * 4096; i < 12 * 4096; ++i) content[i] = static_cast<char>(rng());
  write_all(db, content);
  expect_recovery(db, "quick_check: *** in database main *** ");
}

TEST_CASE("a file of random garbage is moved aside") {
  mqttsn::test::TempDir dir("store");
  const auto db = dir.path() / "gw.db";
  std::mt19937 rng(7);
  std::string garbage(64 * 1024, '\0');
  for (auto& c : garbage) c = static_cast<char>(rng());
  write_all(db, garbage);
  expect_recovery(db, "file is not a database");
}

TEST_CASE("a file of zeros is moved aside") {
  mqttsn::test::TempDir dir("store");
  const auto db = dir.path() / "gw.db";
  write_all(db, std::string(32 * 1024, '\0'));
  expect_recovery(db, "file is not a database");
}

TEST_CASE("a text file is moved aside") {
  mqttsn::test::TempDir dir("store");
  const auto db = dir.path() / "gw.db";
  write_all(db, "[gateway]\nthis is a config file, not a database\n");
  expect_recovery(db, "file is not a database");
}

TEST_CASE("the -wal and -shm of a damaged file go with it, and a second recovery picks a new name") {
  mqttsn::test::TempDir dir("store");
  const auto db = dir.path() / "gw.db";
  write_all(db, "not a database");
  write_all(db.string() + "-wal", "old wal");
  write_all(db.string() + "-shm", "old shm");
  OpenReport first;
  std::string error;
  REQUIRE(Store::open(db, {}, first, error) != nullptr);
  REQUIRE(first.recovered);
  CHECK(read_all(first.moved_to.string() + "-wal") == "old wal");
  // The -shm is SQLite's rebuildable index of the -wal: it was rewritten on open, only moved.
  CHECK(fs::exists(first.moved_to.string() + "-shm"));

  write_all(db, "damaged again within the same second");
  fs::remove(db.string() + "-wal");
  fs::remove(db.string() + "-shm");
  OpenReport second;
  REQUIRE(Store::open(db, {}, second, error) != nullptr);
  REQUIRE(second.recovered);
  CHECK(second.moved_to != first.moved_to);
  CHECK(read_all(second.moved_to) == "damaged again within the same second");
  CHECK(read_all(first.moved_to) == "not a database");
}

TEST_CASE("a file whose schema version is newer than the code knows is moved aside, untouched") {
  mqttsn::test::TempDir dir("store");
  const auto db = dir.path() / "gw.db";
  {
    RawDb raw(db);
    raw.exec("CREATE TABLE future (x); PRAGMA user_version = 7;");
  }
  OpenReport report;
  std::string error;
  auto s = Store::open(db, {}, report, error);
  REQUIRE(s != nullptr);
  CHECK(report.recovered);
  const int latest = mqttsn::store::schema::latest_version(mqttsn::store::schema::migrations());
  CHECK(report.detail ==
        "schema version 7 is newer than this gateway knows (" + std::to_string(latest) + ")");
  CHECK(report.schema_version == latest);
  RawDb moved(report.moved_to);
  CHECK(moved.integer("PRAGMA user_version") == 7);
  CHECK(moved.integer("SELECT count(*) FROM sqlite_schema WHERE name = 'future'") == 1);
}

TEST_CASE("a file that claims version 1 but lacks our columns is moved aside") {
  mqttsn::test::TempDir dir("store");
  const auto db = dir.path() / "gw.db";
  {
    RawDb raw(db);
    raw.exec(
        "CREATE TABLE uplink (id INTEGER PRIMARY KEY AUTOINCREMENT, client_id TEXT);"
        "CREATE TABLE session (client_id TEXT PRIMARY KEY, data BLOB);"
        "PRAGMA user_version = 1;");
  }
  OpenReport report;
  std::string error;
  auto s = Store::open(db, {}, report, error);
  REQUIRE(s != nullptr);
  CHECK(report.recovered);
  CHECK(report.detail.find("no column named") != std::string::npos);
  CHECK(s->add_uplink("n", "t", bytes("p"), 1, false) > 0);
  CHECK(s->commit());
}

TEST_CASE("a path that cannot be written gives nullptr and an error, and moves nothing") {
  mqttsn::test::TempDir dir("store");
  OpenReport report;
  std::string error;

  SUBCASE("parent is a regular file") {
    const auto file = dir.write("plain", "x");
    CHECK(Store::open(fs::path(file) / "gw.db", {}, report, error) == nullptr);
    CHECK(error.find("Not a directory") != std::string::npos);
  }
  SUBCASE("a directory no one may create files in (procfs, refused even to root)") {
    CHECK(Store::open("/proc/mqttsn-store-test.db", {}, report, error) == nullptr);
    // The system's reason, not only SQLite's "unable to open database file" (root gets past the
    // mode bits to procfs's refusal; others stop at the mode bits).
    CHECK((error.find("(No such file or directory)") != std::string::npos ||
           error.find("Permission denied") != std::string::npos));
  }
  CHECK_FALSE(error.empty());
  CHECK_FALSE(report.recovered);
  MESSAGE("error: " << error);
}

namespace {
// Runs `body` in a child process without root's power to ignore mode bits (as nobody when run
// as root), and returns its exit status: 0 when every expectation held.
template <typename Body>
int as_unprivileged(Body body) {
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (geteuid() == 0 && (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0))
      _exit(99);
    _exit(body());
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  return WEXITSTATUS(status);
}

// In the child: opening must fail, name the reason, and leave no moved-aside file.
int expect_unusable(const fs::path& db, std::string_view reason) {
  OpenReport report;
  std::string error;
  auto s = Store::open(db, {}, report, error);
  std::fprintf(stderr, "%s -> %s\n", db.c_str(), error.c_str());
  if (s != nullptr) return 1;
  if (error.find(reason) == std::string::npos) return 2;
  if (report.recovered) return 3;
  for (const auto& e : fs::directory_iterator(db.parent_path())) {
    if (e.path().filename().string().find(".corrupt-") != std::string::npos) return 4;
  }
  return 0;
}
}  // namespace

TEST_CASE("mode bits: no write permission gives nullptr and the reason, never a recovery") {
  mqttsn::test::TempDir dir("store");
  REQUIRE(chmod(dir.path().c_str(), 0755) == 0);  // the unprivileged child must get in

  SUBCASE("a new database in a directory without write permission") {
    const auto ro = dir.path() / "ro";
    fs::create_directories(ro);
    REQUIRE(chmod(ro.c_str(), 0555) == 0);
    CHECK(as_unprivileged([&] { return expect_unusable(ro / "gw.db", "Permission denied"); }) == 0);
    CHECK_FALSE(fs::exists(ro / "gw.db"));
  }
  SUBCASE("an existing database in a directory without write permission (no room for -wal/-shm)") {
    const auto ro = dir.path() / "ro";
    make_real_db(ro / "gw.db");
    REQUIRE(chmod((ro / "gw.db").c_str(), 0666) == 0);
    REQUIRE(chmod(ro.c_str(), 0555) == 0);
    CHECK(as_unprivileged([&] { return expect_unusable(ro / "gw.db", "readonly database"); }) == 0);
    CHECK(fs::file_size(ro / "gw.db") > 100 * 1024);
  }
  SUBCASE("an existing database file without write permission") {
    const auto rw = dir.path() / "rw";
    make_real_db(rw / "gw.db");
    REQUIRE(chmod(rw.c_str(), 0777) == 0);
    REQUIRE(chmod((rw / "gw.db").c_str(), 0444) == 0);
    CHECK(as_unprivileged([&] { return expect_unusable(rw / "gw.db", "read-only"); }) == 0);
    CHECK(fs::file_size(rw / "gw.db") > 100 * 1024);
  }
}

TEST_CASE("a database another process holds the write lock on is used, not moved aside") {
  mqttsn::test::TempDir dir("store");
  const auto db = dir.path() / "gw.db";
  make_real_db(db);
  RawDb holder(db);
  holder.exec("BEGIN IMMEDIATE");
  OpenReport report;
  std::string error;
  auto s = Store::open(db, {}, report, error);  // reads only: WAL readers do not wait for the writer
  REQUIRE(s != nullptr);
  CHECK_FALSE(report.recovered);
  CHECK(s->load_uplink().size() == 300);
  // A write waits out the busy timeout, then fails: counted as an error, nothing pending.
  CHECK(s->add_uplink("n", "t", bytes("p"), 1, false) == 0);
  CHECK(s->stats().errors == 1);
  CHECK_FALSE(s->pending());
  holder.exec("ROLLBACK");
  CHECK(s->add_uplink("n", "t", bytes("p"), 1, false) > 0);
  CHECK(s->commit());
  CHECK(s->stats().uplink_messages == 301);
}
