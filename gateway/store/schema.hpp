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

// The gateway's own list, oldest first.
std::span<const Migration> migrations();
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

// The tables the statements of this version use exist (a file that claims our version but holds
// something else is treated as damaged). Statement preparation checks the columns.
bool has_expected_tables(sqlite3* db, sql::Error& err);

}  // namespace mqttsn::store::schema
