#include "gateway/store/schema.hpp"

#include <string>

namespace mqttsn::store::schema {

namespace {

// AUTOINCREMENT: ids are never reused, even after the newest row is deleted and the gateway
// restarts, so the core can keep using them as "arrival order" keys across runs.
constexpr Migration kMigrations[] = {
    {1,
     "CREATE TABLE uplink ("
     "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
     "  client_id TEXT NOT NULL,"
     "  topic TEXT NOT NULL,"
     "  payload BLOB NOT NULL,"
     "  qos INTEGER NOT NULL CHECK (qos IN (1, 2)),"
     "  retain INTEGER NOT NULL CHECK (retain IN (0, 1))"
     ");"
     "CREATE TABLE session ("
     "  client_id TEXT PRIMARY KEY NOT NULL,"
     "  data BLOB NOT NULL"
     ");"},
};

}  // namespace

std::span<const Migration> migrations() {
  return kMigrations;
}

int latest_version(std::span<const Migration> list) {
  return list.empty() ? 0 : list.back().version;
}

MigrateResult migrate(sqlite3* db, std::span<const Migration> list) {
  MigrateResult r;
  auto current = sql::query_int(db, "PRAGMA user_version", r.error);
  if (!current) {
    r.status = MigrateResult::Status::failed;
    return r;
  }
  r.from_version = r.to_version = static_cast<int>(*current);
  if (r.from_version > latest_version(list)) {
    r.status = MigrateResult::Status::newer_than_known;
    return r;
  }
  for (const Migration& m : list) {
    if (m.version <= r.to_version) continue;
    std::string bump = "PRAGMA user_version = " + std::to_string(m.version);
    bool ok = sql::exec(db, "BEGIN IMMEDIATE", r.error) && sql::exec(db, m.sql, r.error) &&
              sql::exec(db, bump.c_str(), r.error) && sql::exec(db, "COMMIT", r.error);
    if (!ok) {
      sql::Error ignored;
      if (sqlite3_get_autocommit(db) == 0) sql::exec(db, "ROLLBACK", ignored);
      r.error.message = "migration to version " + std::to_string(m.version) + ": " + r.error.message;
      r.status = MigrateResult::Status::failed;
      return r;
    }
    r.to_version = m.version;
  }
  return r;
}

bool has_expected_tables(sqlite3* db, sql::Error& err) {
  auto n = sql::query_int(db,
                          "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN "
                          "('uplink', 'session', 'sqlite_sequence')",
                          err);
  if (!n) return false;
  if (*n != 3) {
    err = {SQLITE_CORRUPT, "schema lacks the uplink/session tables its version promises"};
    return false;
  }
  return true;
}

}  // namespace mqttsn::store::schema
