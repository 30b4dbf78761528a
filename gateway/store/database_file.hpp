#pragma once
// Opening one of the gateway's SQLite files the same careful way, whatever it holds: WAL, the sync
// level its content needs, an integrity check, migrations, and a damaged file moved aside (kept for
// a post-mortem) and replaced by an empty one rather than keeping the gateway from starting.
#include <filesystem>
#include <functional>
#include <span>
#include <string>

#include "gateway/store/schema.hpp"
#include "gateway/store/sqlite_util.hpp"
#include "gateway/store/store.hpp"

namespace mqttsn::store::dbfile {

struct Layout {
  const char* what;  // for log lines: "store", "upstream records"
  std::span<const schema::Migration> migrations;
  std::span<const char* const> tables;  // must exist once migrated
  const char* synchronous;              // "FULL" or "NORMAL"
};

enum class Outcome { ok, damaged, unusable };

// Damage is what a fresh file cures (not a database, corrupt pages, a schema that is not ours);
// anything else (permissions, I/O errors, a full disk, a lock held elsewhere) would hit a new file
// just the same.
Outcome classify(const sql::Error& e);

// One attempt at `path`: opens `db` and brings the file to the layout. `schema_version` is the
// version after migration.
Outcome open_checked(const std::filesystem::path& path, const Layout& layout, sql::Db& db,
                     int& schema_version, sql::Error& err);

// Closes a connection without checkpointing its -wal into the main file, so that a damaged file is
// moved aside exactly as it was found.
void close_as_found(sql::Db& db);

// One attempt for a file's private state `impl` (members `db`, `prepare(err)` for its statements,
// `finalize_statements()`): open_checked, then prepare; on any failure the connection is released as
// found, ready for open_recovering to move the file aside.
template <typename Impl>
Outcome open_impl(const std::filesystem::path& path, const Layout& layout, Impl& impl, int& schema_version,
                  sql::Error& err) {
  Outcome outcome = open_checked(path, layout, impl.db, schema_version, err);
  if (outcome == Outcome::ok && !impl.prepare(err)) outcome = classify(err);
  if (outcome != Outcome::ok) {
    impl.finalize_statements();
    close_as_found(impl.db);
  }
  return outcome;
}

// Creates the parent directory, then runs `attempt` (which calls open_checked and builds what it
// needs on the connection). A damaged file is moved aside and `attempt` runs once more on a new
// one; `attempt` must have released its connection (close_as_found) whenever it returns not ok.
// Returns false with `error` when the path cannot be used at all.
bool open_recovering(const std::filesystem::path& path, const Layout& layout, OpenReport& report,
                     std::string& error, const std::function<Outcome(sql::Error&)>& attempt);

}  // namespace mqttsn::store::dbfile
