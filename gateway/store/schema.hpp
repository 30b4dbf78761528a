#pragma once
// The database layout as an ordered list of migrations, versioned with PRAGMA user_version.
// Version N's entry turns a version N-1 file into a version N file; a new layout is one more entry
// at the end of kMigrations (never edit a shipped entry: files in the field already ran it).
#include <span>
#include <string>

#include "gateway/store/sqlite_util.hpp"

namespace mqttsn::store::schema {

struct Migration {
  int version;      // user_version after this step
  const char* sql;  // may hold several statements
};

// The gateway's own list (the main store file), oldest first.
std::span<const Migration> migrations();
// The upstream MQTT client's in-flight records, a file of their own (see upstream_records.hpp).
std::span<const Migration> upstream_migrations();
int latest_version(std::span<const Migration> list);

struct MigrateResult {
  enum class Status { ok, newer_than_known, failed } status = Status::ok;
  int from_version = 0;
  int to_version = 0;
  sql::Error error;
};

// Brings the file up to the last entry of `list`, each step in its own transaction together with
// its user_version bump, so a power cut mid-way leaves the file at the last completed version.
// A file newer than the list is left untouched (the caller moves it aside).
MigrateResult migrate(sqlite3* db, std::span<const Migration> list);

}  // namespace mqttsn::store::schema
