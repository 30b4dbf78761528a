// Store::open: create or open the file, check it, migrate it; a damaged file is moved aside and
// replaced by a new one, an unusable path is reported to the caller.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "gateway/core/log.hpp"
#include "gateway/store/recovery.hpp"
#include "gateway/store/schema.hpp"
#include "gateway/store/store_impl.hpp"

namespace mqttsn::store {

namespace fs = std::filesystem;

namespace {

// Long enough for an operator's sqlite3 CLI write to finish, short enough not to stall the
// daemon's loop for long if one does not.
constexpr int kBusyTimeoutMs = 1000;

enum class Outcome { ok, damaged, unusable };

// Damage is what a fresh file cures: not a database, corrupt pages, a schema that is not ours.
// Everything else (cannot open, read-only, I/O error, disk full, locked by another process)
// would hit a new file just the same, or says the file is in use: never move it then.
bool is_damage(int code) {
  switch (code) {
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
    case SQLITE_FORMAT:
    case SQLITE_ERROR:  // "no such table/column", a failed CREATE TABLE: not our schema
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
      return true;
    default:
      return false;
  }
}

Outcome classify(const sql::Error& e) {
  return is_damage(e.code) ? Outcome::damaged : Outcome::unusable;
}

Outcome open_checked(Store::Impl& s, sql::Error& err) {
  s.db = sql::open(s.path.string(), err);
  if (!s.db) return Outcome::unusable;
  sqlite3* db = s.db.get();
  sqlite3_busy_timeout(db, kBusyTimeoutMs);

  // The first statement reads page 1: a file that is not a database fails here with NOTADB.
  auto mode = sql::query_text(db, "PRAGMA journal_mode=WAL", err);
  if (!mode) return classify(err);
  if (sqlite3_db_readonly(db, "main") == 1) {
    err = {SQLITE_READONLY, "database opened read-only (file or directory not writable)"};
    return Outcome::unusable;
  }
  if (*mode != "wal") {
    // Still durable (rollback journal + FULL sync), only slower: keep going.
    MQTTSN_LOG(warning, "store: %s: journal_mode is '%s', not wal", s.path.c_str(), mode->c_str());
  }
  // FULL: WAL+NORMAL may lose the last commits in a power cut, and those were acknowledged.
  if (!sql::exec(db, "PRAGMA synchronous=FULL", err)) return classify(err);
  // After a burst the WAL is truncated back to this at checkpoints instead of staying large.
  if (!sql::exec(db, "PRAGMA journal_size_limit=4194304", err)) return classify(err);

  auto check = sql::query_text(db, "PRAGMA quick_check", err);
  if (!check) return classify(err);
  if (*check != "ok") {
    // Its report spans lines ("*** in database main ***\nPage 5: ..."): one line for the log.
    std::replace(check->begin(), check->end(), '\n', ' ');
    err = {SQLITE_CORRUPT, "quick_check: " + *check};
    return Outcome::damaged;
  }

  auto m = schema::migrate(db, schema::migrations());
  s.schema_version = m.to_version;
  if (m.status == schema::MigrateResult::Status::newer_than_known) {
    err = {SQLITE_FORMAT, "schema version " + std::to_string(m.from_version) +
                              " is newer than this gateway knows (" +
                              std::to_string(schema::latest_version(schema::migrations())) + ")"};
    return Outcome::damaged;
  }
  if (m.status == schema::MigrateResult::Status::failed) {
    err = m.error;
    return classify(err);
  }
  if (m.to_version != m.from_version) {
    MQTTSN_LOG(info, "store: %s: schema version %d -> %d", s.path.c_str(), m.from_version, m.to_version);
  }
  if (!schema::has_expected_tables(db, err)) return classify(err);
  if (!s.prepare_all(err)) return classify(err);
  if (!s.load_counts(err)) return classify(err);
  return Outcome::ok;
}

}  // namespace

std::unique_ptr<Store> Store::open(const fs::path& path, StoreLimits limits, OpenReport& report,
                                   std::string& error) {
  report = OpenReport{};
  std::error_code ec;
  if (path.has_parent_path()) {
    fs::create_directories(path.parent_path(), ec);
    if (ec) {
      error = "cannot create " + path.parent_path().string() + ": " + ec.message();
      return nullptr;
    }
  }

  // SQLite would retry read-only and then report that retry's errno ("No such file"), hiding why.
  if (!fs::exists(path, ec) &&
      access(path.has_parent_path() ? path.parent_path().c_str() : ".", W_OK | X_OK) != 0) {
    error = "cannot create " + path.string() + ": " + std::strerror(errno);
    return nullptr;
  }

  // Two attempts: the file as found, then (if damaged) a new one in its place.
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto impl = std::make_unique<Impl>();
    impl->path = path;
    impl->limits = limits;
    sql::Error err;
    Outcome outcome = open_checked(*impl, err);
    if (outcome == Outcome::ok) {
      report.schema_version = impl->schema_version;
      return std::unique_ptr<Store>(new Store(std::move(impl)));
    }
    if (outcome == Outcome::unusable || attempt == 1) {
      error = path.string() + ": " + err.message;
      return nullptr;
    }
    // Closing the last connection normally checkpoints the -wal into the damaged file and deletes
    // it: keep both as they were, for whoever looks at the moved-aside copy.
    if (impl->db) sqlite3_db_config(impl->db.get(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
    impl.reset();  // closes the connection before the file is renamed under it

    std::string move_error;
    fs::path moved = recovery::move_aside(path, std::chrono::system_clock::now(), move_error);
    if (moved.empty()) {
      error = path.string() + ": " + err.message + "; " + move_error;
      return nullptr;
    }
    report.recovered = true;
    report.moved_to = moved;
    report.detail = err.message;
    MQTTSN_LOG(warning, "store: %s is unusable (%s): moved to %s, starting empty", path.c_str(),
               err.message.c_str(), moved.c_str());
  }
  return nullptr;  // not reached: the second attempt returns either way
}

}  // namespace mqttsn::store
