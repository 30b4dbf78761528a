#include "gateway/store/database_file.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>

#include "gateway/core/log.hpp"
#include "gateway/store/recovery.hpp"

namespace mqttsn::store::dbfile {

namespace fs = std::filesystem;

namespace {

// Long enough for an operator's sqlite3 CLI write to finish, short enough not to stall the
// daemon's loop for long if one does not.
constexpr int kBusyTimeoutMs = 1000;

// Page size of a NEW file (an existing file keeps the one it was made with; it must be set before
// the first write, which is `journal_mode=WAL` on a new file). A commit appends every page it
// changed to the WAL, whole (plus a 24-byte frame header): one queued row changes two pages (the
// table's leaf, and sqlite_sequence for AUTOINCREMENT), a delete one. Measured through the counting
// VFS with these settings, mean per commit of a queue where each commit adds k rows of ~100 bytes
// and deletes the k oldest, in bytes SQLite wrote / 4 KiB kernel pages dirtied (what the card is
// sent at the sync), checkpoints included:
//   page   k=1, none queued   k=1, 100 queued   k=5, 100 queued   k=20, 100 queued   upstream put+remove
//   4096    8.3 KB / 3.0       13.5 KB / 4.3     17.2 KB / 5.2     30.2 KB / 8.4      12.4 KB / 4.0
//   1024    2.1 KB / 1.5        4.1 KB / 2.0      8.5 KB / 3.1     11.6 KB / 3.8       3.1 KB / 1.8
// 10,000 rows queued in 10-row commits, then delivered: 29 MB at 4096, 15.7 MB at 1024. CPU per
// commit did not grow (it fell). Worse at 1024: rows of several KB, which spill into overflow pages
// (a 4000-byte row queued and delivered: 13.7 KB against 12.4 KB), and one 10,000-row commit
// (1.33 MB against 1.19 MB). Power safety is unchanged: 4120-byte WAL frames already straddle 4 KiB
// blocks, so the store at 4096 relies on SQLite's powersafe-overwrite assumption (writing a block
// never garbles its other bytes) just as 1024-byte pages do.
constexpr int kNewFilePageSize = 1024;

// Checkpoint when the WAL holds about this many bytes of frames, whatever the page size. SQLite's
// default, 1000 pages, was 4 MB at 4096 bytes a page but is 1 MB at 1024: four times the
// checkpoints, each two more syncs (WAL, file), the changed pages copied into the file, and one more
// sync for the next commit's new WAL header. Measured at 1024 (k=20, 100 queued): 1000 pages,
// 1.033 syncs and 214 checkpoint bytes per commit; 4000 pages, 1.006 and 39. Files of 4096-byte
// pages keep SQLite's 1000.
constexpr std::int64_t kCheckpointWalBytes = 1000 * 4096;

bool has_tables(sqlite3* db, std::span<const char* const> tables, sql::Error& err) {
  for (const char* t : tables) {
    std::string q =
        std::string("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = '") + t + "'";
    auto n = sql::query_int(db, q.c_str(), err);
    if (!n) return false;
    if (*n != 1) {
      err = {SQLITE_CORRUPT, std::string("schema lacks the '") + t + "' table its version promises"};
      return false;
    }
  }
  return true;
}

}  // namespace

Outcome classify(const sql::Error& e) {
  switch (e.code) {
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
    case SQLITE_FORMAT:
    case SQLITE_ERROR:  // "no such table/column", a failed CREATE TABLE: not our schema
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
      return Outcome::damaged;
    default:
      return Outcome::unusable;
  }
}

Outcome open_checked(const fs::path& path, const Layout& layout, sql::Db& db, int& schema_version,
                     sql::Error& err) {
  db = sql::open(path.string(), err);
  if (!db) return Outcome::unusable;
  sqlite3* d = db.get();
  sqlite3_busy_timeout(d, kBusyTimeoutMs);

  // A no-op on a file that has pages already (it keeps its size), and it reads nothing.
  const std::string page_size = "PRAGMA page_size=" + std::to_string(kNewFilePageSize);
  if (!sql::exec(d, page_size.c_str(), err)) return classify(err);
  // The first statement that reads page 1: a file that is not a database fails here with NOTADB.
  auto mode = sql::query_text(d, "PRAGMA journal_mode=WAL", err);
  if (!mode) return classify(err);
  if (sqlite3_db_readonly(d, "main") == 1) {
    err = {SQLITE_READONLY, "database opened read-only (file or directory not writable)"};
    return Outcome::unusable;
  }
  if (*mode != "wal") {
    // Still durable (rollback journal), only slower: keep going.
    MQTTSN_LOG(warning, "%s: %s: journal_mode is '%s', not wal", layout.what, path.c_str(), mode->c_str());
  }
  const std::string sync = std::string("PRAGMA synchronous=") + layout.synchronous;
  if (!sql::exec(d, sync.c_str(), err)) return classify(err);
  // After a burst the WAL is truncated back to this at checkpoints instead of staying large.
  if (!sql::exec(d, "PRAGMA journal_size_limit=4194304", err)) return classify(err);
  // SQLite's default page cache, 2 MiB per connection, fills during the first broker outages and
  // stays: a soak's RSS stepped up by 1-1.4 MB at each of its first restarts. What the gateway
  // reads back is only the rows it just wrote (and everything once, at start), so a small cache
  // costs a few reads per commit at most.
  if (!sql::exec(d, "PRAGMA cache_size=-256", err)) return classify(err);
  auto page = sql::query_int(d, "PRAGMA page_size", err);
  if (!page) return classify(err);
  const std::string autocheckpoint =
      "PRAGMA wal_autocheckpoint=" + std::to_string(kCheckpointWalBytes / std::max<std::int64_t>(*page, 512));
  if (!sql::exec(d, autocheckpoint.c_str(), err)) return classify(err);

  auto check = sql::query_text(d, "PRAGMA quick_check", err);
  if (!check) return classify(err);
  if (*check != "ok") {
    // Its report spans lines ("*** in database main ***\nPage 5: ..."): one line for the log.
    std::replace(check->begin(), check->end(), '\n', ' ');
    err = {SQLITE_CORRUPT, "quick_check: " + *check};
    return Outcome::damaged;
  }

  auto m = schema::migrate(d, layout.migrations);
  schema_version = m.to_version;
  if (m.status == schema::MigrateResult::Status::newer_than_known) {
    err = {SQLITE_FORMAT, "schema version " + std::to_string(m.from_version) +
                              " is newer than this gateway knows (" +
                              std::to_string(schema::latest_version(layout.migrations)) + ")"};
    return Outcome::damaged;
  }
  if (m.status == schema::MigrateResult::Status::failed) {
    err = m.error;
    return classify(err);
  }
  if (m.to_version != m.from_version) {
    MQTTSN_LOG(info, "%s: %s: schema version %d -> %d", layout.what, path.c_str(), m.from_version,
               m.to_version);
  }
  if (!has_tables(d, layout.tables, err)) return classify(err);
  return Outcome::ok;
}

void close_as_found(sql::Db& db) {
  // Closing the last connection normally checkpoints the -wal into the file and deletes it.
  if (db) sqlite3_db_config(db.get(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  db.reset();
}

bool open_recovering(const fs::path& path, const Layout& layout, OpenReport& report, std::string& error,
                     const std::function<Outcome(sql::Error&)>& attempt) {
  report = OpenReport{};
  std::error_code ec;
  if (path.has_parent_path()) {
    fs::create_directories(path.parent_path(), ec);
    if (ec) {
      error = "cannot create " + path.parent_path().string() + ": " + ec.message();
      return false;
    }
  }
  // SQLite would retry read-only and then report that retry's errno ("No such file"), hiding why.
  if (!fs::exists(path, ec) &&
      access(path.has_parent_path() ? path.parent_path().c_str() : ".", W_OK | X_OK) != 0) {
    error = "cannot create " + path.string() + ": " + std::strerror(errno);
    return false;
  }

  // Two attempts: the file as found, then (if damaged) a new one in its place.
  for (int n = 0; n < 2; ++n) {
    sql::Error err;
    const Outcome outcome = attempt(err);
    if (outcome == Outcome::ok) return true;
    if (outcome == Outcome::unusable || n == 1) {
      error = path.string() + ": " + err.message;
      return false;
    }
    std::string move_error;
    fs::path moved = recovery::move_aside(path, std::chrono::system_clock::now(), move_error);
    if (moved.empty()) {
      error = path.string() + ": " + err.message + "; " + move_error;
      return false;
    }
    report.recovered = true;
    report.moved_to = moved;
    report.detail = err.message;
    MQTTSN_LOG(warning, "%s: %s is unusable (%s): moved to %s, starting empty", layout.what, path.c_str(),
               err.message.c_str(), moved.c_str());
  }
  return false;  // not reached: the second attempt returns either way
}

}  // namespace mqttsn::store::dbfile
