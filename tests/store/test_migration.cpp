// Schema versions: a v0 file is brought to v1, a v1 file is used as it is, and the migration list
// mechanism takes a v1 file with data to a hand-made v2 (and keeps v1 if a step fails).
#include <doctest/doctest.h>

#include <array>

#include "gateway/store/schema.hpp"
#include "store_test_util.hpp"
#include "support/temp_dir.hpp"

using namespace mqttsn::store;
using mqttsn::store::test::bytes;
using mqttsn::store::test::must_open;
using mqttsn::store::test::RawDb;
namespace fs = std::filesystem;

namespace {
// The v1 layout, written by hand rather than by the code under test.
constexpr const char* kHandMadeV1 =
    "CREATE TABLE uplink (id INTEGER PRIMARY KEY AUTOINCREMENT, client_id TEXT NOT NULL,"
    "  topic TEXT NOT NULL, payload BLOB NOT NULL, qos INTEGER NOT NULL, retain INTEGER NOT NULL);"
    "CREATE TABLE session (client_id TEXT PRIMARY KEY NOT NULL, data BLOB NOT NULL);"
    "INSERT INTO uplink VALUES (41, 'old-node', 'old/topic', x'00ff00', 2, 1);"
    "INSERT INTO session VALUES ('old-node', x'cafe');"
    "PRAGMA user_version = 1;";
const int kLatest = schema::latest_version(schema::migrations());
}  // namespace

TEST_CASE("an empty (zero-length) file is a version 0 database: migrated to the latest version") {
  mqttsn::test::TempDir dir("store");
  const auto db = fs::path(dir.write("gw.db", ""));
  OpenReport report;
  std::string error;
  auto s = Store::open(db, {}, report, error);
  REQUIRE(s != nullptr);
  CHECK_FALSE(report.recovered);
  CHECK(report.schema_version == kLatest);
  CHECK(s->add_uplink("n", "t", bytes("p"), 1, false) > 0);
  CHECK(s->commit());
  s.reset();
  RawDb raw(db);
  CHECK(raw.integer("PRAGMA user_version") == kLatest);
}

TEST_CASE("a version 0 database holding unrelated tables gets ours added, keeps its own") {
  mqttsn::test::TempDir dir("store");
  const auto db = dir.path() / "gw.db";
  {
    RawDb raw(db);
    raw.exec("CREATE TABLE notes (x); INSERT INTO notes VALUES ('keep me');");
  }
  auto s = must_open(db);
  CHECK(s->load_uplink().empty());
  s.reset();
  RawDb raw(db);
  CHECK(raw.integer("PRAGMA user_version") == kLatest);
  CHECK(raw.integer("SELECT count(*) FROM notes") == 1);
}

TEST_CASE("a hand-made version 1 file opens migrated with its rows, and new ids continue after them") {
  mqttsn::test::TempDir dir("store");
  const auto db = dir.path() / "gw.db";
  {
    RawDb raw(db);
    raw.exec(kHandMadeV1);
  }
  OpenReport report;
  std::string error;
  auto s = Store::open(db, {}, report, error);
  REQUIRE(s != nullptr);
  CHECK_FALSE(report.recovered);
  CHECK(report.schema_version == kLatest);
  CHECK(s->inbox_taken() == 0);
  auto up = s->load_uplink();
  REQUIRE(up.size() == 1);
  CHECK(up[0].id == 41);
  CHECK(up[0].client_id == "old-node");
  CHECK(up[0].payload == std::vector<std::uint8_t>{0x00, 0xFF, 0x00});
  CHECK(up[0].qos == 2);
  CHECK(up[0].retain);
  CHECK(s->stats().uplink_bytes == 9 + 3);
  auto sessions = s->load_sessions();
  REQUIRE(sessions.size() == 1);
  CHECK(sessions[0].data == std::vector<std::uint8_t>{0xCA, 0xFE});
  CHECK(s->add_uplink("n", "t", bytes("p"), 1, false) == 42);
}

TEST_CASE("the migration list: a v1 file with data goes to a new version by one more entry") {
  mqttsn::test::TempDir dir("store");
  const auto db = dir.path() / "gw.db";
  {
    RawDb raw(db);
    raw.exec(kHandMadeV1);
  }
  std::vector<schema::Migration> list(schema::migrations().begin(), schema::migrations().end());
  const int next = kLatest + 1;
  list.push_back({next,
                  "ALTER TABLE uplink ADD COLUMN received_at INTEGER NOT NULL DEFAULT 0;"
                  "UPDATE uplink SET received_at = 1700000000;"});

  RawDb raw(db);
  auto r = schema::migrate(raw.get(), list);
  INFO(r.error.message);
  REQUIRE(r.status == schema::MigrateResult::Status::ok);
  CHECK(r.from_version == 1);
  CHECK(r.to_version == next);
  CHECK(raw.integer("PRAGMA user_version") == next);
  CHECK(raw.integer("SELECT received_at FROM uplink WHERE id = 41") == 1700000000);
  CHECK(raw.integer("SELECT count(*) FROM session") == 1);

  // Run again: nothing to do.
  auto again = schema::migrate(raw.get(), list);
  CHECK(again.status == schema::MigrateResult::Status::ok);
  CHECK(again.from_version == next);
  CHECK(again.to_version == next);

  // The gateway's own list stops before `next`: this file is now too new for it.
  auto old_code = schema::migrate(raw.get(), schema::migrations());
  CHECK(old_code.status == schema::MigrateResult::Status::newer_than_known);
}

TEST_CASE("the migration list: v0 runs every step in order") {
  mqttsn::test::TempDir dir("store");
  RawDb raw(dir.path() / "gw.db");
  const std::array<schema::Migration, 3> list{{
      {1, "CREATE TABLE a (x);"},
      {2, "INSERT INTO a VALUES (2);"},
      {3, "INSERT INTO a SELECT x + 1 FROM a;"},
  }};
  auto r = schema::migrate(raw.get(), list);
  REQUIRE(r.status == schema::MigrateResult::Status::ok);
  CHECK(r.from_version == 0);
  CHECK(r.to_version == 3);
  CHECK(raw.integer("SELECT sum(x) FROM a") == 5);
}

TEST_CASE("a failing migration step leaves the file at the last good version, untouched by the step") {
  mqttsn::test::TempDir dir("store");
  const auto db = dir.path() / "gw.db";
  RawDb raw(db);
  raw.exec(kHandMadeV1);
  std::vector<schema::Migration> list(schema::migrations().begin(), schema::migrations().end());
  list.push_back({kLatest + 1, "CREATE TABLE extra (x); INSERT INTO no_such_table VALUES (1);"});
  auto r = schema::migrate(raw.get(), list);
  CHECK(r.status == schema::MigrateResult::Status::failed);
  CHECK(r.to_version == kLatest);
  CHECK(r.error.message.find("migration to version " + std::to_string(kLatest + 1)) != std::string::npos);
  CHECK(raw.integer("PRAGMA user_version") == kLatest);
  CHECK(raw.integer("SELECT count(*) FROM sqlite_schema WHERE name = 'extra'") == 0);
  CHECK(sqlite3_get_autocommit(raw.get()) != 0);
}
