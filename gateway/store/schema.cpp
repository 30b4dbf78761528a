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
    // How far the upstream file's inbox has been taken into sessions (see upstream_records.hpp):
    // written in the transaction that stores those sessions, so both change together.
    {2,
     "CREATE TABLE progress ("
     "  name TEXT PRIMARY KEY NOT NULL,"
     "  value INTEGER NOT NULL"
     ") WITHOUT ROWID;"},
    // The downlink messages a kept session holds, one row each, written once when the message arrives
    // and deleted when it is delivered: a node asleep through 1,000 messages costs 1,000 small inserts,
    // not 1,000 rewrites of a growing session record. WITHOUT ROWID: one b-tree, not a table and an
    // index, to write per message.
    {3,
     "CREATE TABLE session_message ("
     "  client_id TEXT NOT NULL,"
     "  seq INTEGER NOT NULL,"
     "  topic TEXT NOT NULL,"
     "  payload BLOB NOT NULL,"
     "  qos INTEGER NOT NULL CHECK (qos IN (0, 1, 2)),"
     "  retain INTEGER NOT NULL CHECK (retain IN (0, 1)),"
     "  PRIMARY KEY (client_id, seq)"
     ") WITHOUT ROWID;"},
};

// `row` is the uplink row (main file) the record carries, 0 for none. `delivered` holds uplink rows
// whose MQTT exchange ended (PUBCOMP) until the main file has dropped them.
constexpr Migration kUpstreamMigrations[] = {
    {1,
     "CREATE TABLE record ("
     "  key TEXT PRIMARY KEY NOT NULL,"
     "  value BLOB NOT NULL,"
     "  row INTEGER NOT NULL DEFAULT 0"
     ") WITHOUT ROWID;"
     "CREATE TABLE delivered (row INTEGER PRIMARY KEY NOT NULL);"},
    // Messages from the broker for kept sessions, written before the broker hears they arrived.
    // AUTOINCREMENT: ids only grow, across restarts too, so "taken up to id N" stays meaningful.
    {2,
     "CREATE TABLE inbox ("
     "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
     "  topic TEXT NOT NULL,"
     "  payload BLOB NOT NULL,"
     "  qos INTEGER NOT NULL CHECK (qos IN (1, 2)),"
     "  retain INTEGER NOT NULL CHECK (retain IN (0, 1))"
     ");"},
};

}  // namespace

std::span<const Migration> migrations() {
  return kMigrations;
}

std::span<const Migration> upstream_migrations() {
  return kUpstreamMigrations;
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

}  // namespace mqttsn::store::schema
