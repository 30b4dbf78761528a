#include "gateway/store/upstream_records.hpp"

#include <system_error>

#include "gateway/core/log.hpp"
#include "gateway/store/database_file.hpp"
#include "gateway/store/schema.hpp"

namespace mqttsn::store {

namespace fs = std::filesystem;

namespace {
constexpr const char* kTables[] = {"record", "delivered", "inbox"};

struct ResetGuard {
  sqlite3_stmt* s;
  ~ResetGuard() {
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
  }
};
}  // namespace

struct UpstreamRecords::Impl {
  fs::path path;
  std::mutex mutex;
  sql::Db db;
  sql::Stmt begin, commit, rollback;
  sql::Stmt upsert, remove, note_delivered, select_one, select_all, clear, select_delivered, forget, count;
  sql::Stmt insert_inbox, select_inbox, drop_inbox, count_inbox, mark_taken;
  std::uint64_t errors = 0;

  bool prepare(sql::Error& err) {
    sqlite3* d = db.get();
    return (begin = sql::prepare(d, "BEGIN IMMEDIATE", err)) && (commit = sql::prepare(d, "COMMIT", err)) &&
           (rollback = sql::prepare(d, "ROLLBACK", err)) &&
           (upsert = sql::prepare(d,
                                  "INSERT INTO record (key, value, row) VALUES (?1, ?2, ?3) "
                                  "ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
                                  "row = CASE WHEN excluded.row != 0 THEN excluded.row ELSE record.row END",
                                  err)) &&
           (remove = sql::prepare(d, "DELETE FROM record WHERE key = ?1", err)) &&
           (note_delivered = sql::prepare(d, "INSERT OR IGNORE INTO delivered (row) VALUES (?1)", err)) &&
           (select_one = sql::prepare(d, "SELECT value FROM record WHERE key = ?1", err)) &&
           (select_all = sql::prepare(d, "SELECT key, value, row FROM record ORDER BY key", err)) &&
           (clear = sql::prepare(d, "DELETE FROM record", err)) &&
           (select_delivered = sql::prepare(d, "SELECT row FROM delivered ORDER BY row", err)) &&
           (forget = sql::prepare(d, "DELETE FROM delivered WHERE row = ?1", err)) &&
           (count = sql::prepare(d, "SELECT count(*) FROM record", err)) &&
           (insert_inbox = sql::prepare(
                d, "INSERT INTO inbox (topic, payload, qos, retain) VALUES (?1, ?2, ?3, ?4)", err)) &&
           (select_inbox = sql::prepare(
                d, "SELECT id, topic, payload, qos, retain FROM inbox WHERE id > ?1 ORDER BY id", err)) &&
           (drop_inbox = sql::prepare(d, "DELETE FROM inbox WHERE id <= ?1", err)) &&
           (count_inbox = sql::prepare(d, "SELECT count(*) FROM inbox", err)) &&
           (mark_taken = sql::prepare(d, "UPDATE record SET row = -1 WHERE key = ?1", err));
  }
  void finalize_statements() {
    for (sql::Stmt* st : {&begin, &commit, &rollback, &upsert, &remove, &note_delivered, &select_one,
                          &select_all, &clear, &select_delivered, &forget, &count, &insert_inbox,
                          &select_inbox, &drop_inbox, &count_inbox, &mark_taken})
      st->reset();
  }

  // Steps a statement that returns no rows; false (counted, logged) on error.
  bool step(sqlite3_stmt* s, const char* what) {
    ResetGuard reset{s};
    const int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE || rc == SQLITE_ROW) return true;
    ++errors;
    MQTTSN_LOG(error, "upstream records: %s: %s (code %d)", what, sqlite3_errmsg(db.get()), rc);
    return false;
  }
  // PRAGMA synchronous takes effect when the statement is compiled, not when it is stepped (a
  // prepared one is compiled again only from its second run on), so it is compiled each time here.
  // Prepared once at open, the FULL and NORMAL statements left the connection at NORMAL (the last
  // compiled) and the first two put()s after every open unsynced.
  bool set_synchronous(const char* level_sql) {
    sql::Error err;
    if (sql::exec(db.get(), level_sql, err)) return true;
    ++errors;
    MQTTSN_LOG(error, "upstream records: %s: %s", level_sql, err.message.c_str());
    return false;
  }
  // Runs `writes` in one transaction; rolls back when one fails.
  template <typename Writes>
  bool transaction(const char* what, Writes writes) {
    if (!step(begin.get(), "BEGIN")) return false;
    if (writes() && step(commit.get(), what)) return true;
    if (sqlite3_get_autocommit(db.get()) == 0) step(rollback.get(), "ROLLBACK");
    return false;
  }
  // The same, committed without waiting for the disk: for changes that may be lost in a power cut
  // (the next FULL commit syncs them along, in WAL order). The file stays FULL for everything else.
  template <typename Writes>
  bool unsynced_transaction(const char* what, Writes writes) {
    if (!set_synchronous("PRAGMA synchronous=NORMAL")) return false;
    const bool ok = transaction(what, writes);
    set_synchronous("PRAGMA synchronous=FULL");
    return ok;
  }
};

UpstreamRecords::UpstreamRecords(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
UpstreamRecords::~UpstreamRecords() = default;

std::unique_ptr<UpstreamRecords> UpstreamRecords::open(const fs::path& path, OpenReport& report,
                                                       std::string& error) {
  // FULL: each put() must be on disk before Paho writes the packet it describes (see the header).
  const dbfile::Layout layout{"upstream records", schema::upstream_migrations(), kTables, "FULL"};
  std::unique_ptr<Impl> opened;
  auto attempt = [&](sql::Error& err) {
    auto impl = std::make_unique<Impl>();
    impl->path = path;
    const auto outcome = dbfile::open_impl(path, layout, *impl, report.schema_version, err);
    if (outcome == dbfile::Outcome::ok) opened = std::move(impl);
    return outcome;
  };
  if (!dbfile::open_recovering(path, layout, report, error, attempt)) return nullptr;
  return std::unique_ptr<UpstreamRecords>(new UpstreamRecords(std::move(opened)));
}

bool UpstreamRecords::put(std::string_view key, std::span<const std::uint8_t> value, std::int64_t row) {
  std::lock_guard lock(impl_->mutex);
  Impl& s = *impl_;
  sqlite3_stmt* st = s.upsert.get();
  sql::bind_text(st, 1, key);
  sql::bind_blob(st, 2, value.data(), value.size());
  sqlite3_bind_int64(st, 3, row);
  return s.step(st, "put");  // autocommit, synchronous=FULL: on disk when this returns
}

bool UpstreamRecords::remove(std::string_view key, std::int64_t delivered_row) {
  std::lock_guard lock(impl_->mutex);
  Impl& s = *impl_;
  // Unsynced: a removal lost in a power cut leaves a finished exchange, see the header.
  return s.unsynced_transaction("remove", [&] {
    sql::bind_text(s.remove.get(), 1, key);
    if (!s.step(s.remove.get(), "remove")) return false;
    if (delivered_row == 0) return true;
    sqlite3_bind_int64(s.note_delivered.get(), 1, delivered_row);
    return s.step(s.note_delivered.get(), "note delivered");
  });
}

std::optional<std::vector<std::uint8_t>> UpstreamRecords::get(std::string_view key) {
  std::lock_guard lock(impl_->mutex);
  Impl& s = *impl_;
  sqlite3_stmt* st = s.select_one.get();
  ResetGuard reset{st};
  sql::bind_text(st, 1, key);
  const int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(st, 0));
    const int n = sqlite3_column_bytes(st, 0);
    return p != nullptr ? std::vector<std::uint8_t>(p, p + n) : std::vector<std::uint8_t>();
  }
  if (rc != SQLITE_DONE) {
    ++s.errors;
    MQTTSN_LOG(error, "upstream records: get: %s (code %d)", sqlite3_errmsg(s.db.get()), rc);
  }
  return std::nullopt;
}

std::vector<UpstreamRecord> UpstreamRecords::load() {
  std::lock_guard lock(impl_->mutex);
  Impl& s = *impl_;
  std::vector<UpstreamRecord> out;
  sqlite3_stmt* st = s.select_all.get();
  ResetGuard reset{st};
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    UpstreamRecord r;
    r.key = sql::column_text(st, 0);
    const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(st, 1));
    if (p != nullptr) r.value.assign(p, p + sqlite3_column_bytes(st, 1));
    r.row = sqlite3_column_int64(st, 2);
    out.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) {
    ++s.errors;
    MQTTSN_LOG(error, "upstream records: load: %s (code %d)", sqlite3_errmsg(s.db.get()), rc);
  }
  return out;
}

bool UpstreamRecords::clear() {
  std::lock_guard lock(impl_->mutex);
  return impl_->step(impl_->clear.get(), "clear");
}

std::vector<std::int64_t> UpstreamRecords::delivered() {
  std::lock_guard lock(impl_->mutex);
  Impl& s = *impl_;
  std::vector<std::int64_t> out;
  sqlite3_stmt* st = s.select_delivered.get();
  ResetGuard reset{st};
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) out.push_back(sqlite3_column_int64(st, 0));
  if (rc != SQLITE_DONE) {
    ++s.errors;
    MQTTSN_LOG(error, "upstream records: delivered: %s (code %d)", sqlite3_errmsg(s.db.get()), rc);
  }
  return out;
}

bool UpstreamRecords::forget_delivered(std::span<const std::int64_t> rows) {
  if (rows.empty()) return true;
  std::lock_guard lock(impl_->mutex);
  Impl& s = *impl_;
  // Forgetting can wait for the disk: a delivered row noted twice is dropped twice, harmlessly.
  return s.unsynced_transaction("forget delivered", [&] {
    for (std::int64_t row : rows) {
      sqlite3_bind_int64(s.forget.get(), 1, row);
      if (!s.step(s.forget.get(), "forget delivered")) return false;
    }
    return true;
  });
}

std::int64_t UpstreamRecords::add_to_inbox(std::string_view topic, std::span<const std::uint8_t> payload,
                                           int qos, bool retain, std::string_view record_key,
                                           ExchangeRecord what) {
  std::lock_guard lock(impl_->mutex);
  Impl& s = *impl_;
  std::int64_t id = 0;
  // synchronous=FULL (the file's level): on disk at COMMIT, before Paho acknowledges the message.
  const bool ok = s.transaction("add to inbox", [&] {
    sqlite3_stmt* st = s.insert_inbox.get();
    sql::bind_text(st, 1, topic);
    sql::bind_blob(st, 2, payload.data(), payload.size());
    sqlite3_bind_int(st, 3, qos);
    sqlite3_bind_int(st, 4, retain ? 1 : 0);
    if (!s.step(st, "add to inbox")) return false;
    id = sqlite3_last_insert_rowid(s.db.get());
    if (record_key.empty()) return true;
    sqlite3_stmt* change = what == ExchangeRecord::remove ? s.remove.get() : s.mark_taken.get();
    sql::bind_text(change, 1, record_key);
    return s.step(change, "remove or mark the exchange's record");
  });
  return ok ? id : 0;
}

std::vector<InboxMessage> UpstreamRecords::inbox_after(std::int64_t id) {
  std::lock_guard lock(impl_->mutex);
  Impl& s = *impl_;
  std::vector<InboxMessage> out;
  sqlite3_stmt* st = s.select_inbox.get();
  ResetGuard reset{st};
  sqlite3_bind_int64(st, 1, id);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    InboxMessage m;
    m.id = sqlite3_column_int64(st, 0);
    m.topic = sql::column_text(st, 1);
    const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(st, 2));
    if (p != nullptr) m.payload.assign(p, p + sqlite3_column_bytes(st, 2));
    m.qos = sqlite3_column_int(st, 3);
    m.retain = sqlite3_column_int(st, 4) != 0;
    out.push_back(std::move(m));
  }
  if (rc != SQLITE_DONE) {
    ++s.errors;
    MQTTSN_LOG(error, "upstream records: read inbox: %s (code %d)", sqlite3_errmsg(s.db.get()), rc);
  }
  return out;
}

bool UpstreamRecords::drop_inbox_through(std::int64_t id) {
  std::lock_guard lock(impl_->mutex);
  Impl& s = *impl_;
  // Unsynced: a drop lost in a power cut is done again at the next start (the main store says how
  // far the inbox was taken).
  return s.unsynced_transaction("drop inbox", [&] {
    sqlite3_bind_int64(s.drop_inbox.get(), 1, id);
    return s.step(s.drop_inbox.get(), "drop inbox");
  });
}

std::size_t UpstreamRecords::inbox_size() {
  std::lock_guard lock(impl_->mutex);
  sqlite3_stmt* st = impl_->count_inbox.get();
  ResetGuard reset{st};
  return sqlite3_step(st) == SQLITE_ROW ? static_cast<std::size_t>(sqlite3_column_int64(st, 0)) : 0;
}

std::size_t UpstreamRecords::size() {
  std::lock_guard lock(impl_->mutex);
  sqlite3_stmt* st = impl_->count.get();
  ResetGuard reset{st};
  return sqlite3_step(st) == SQLITE_ROW ? static_cast<std::size_t>(sqlite3_column_int64(st, 0)) : 0;
}

std::uint64_t UpstreamRecords::file_bytes() {
  std::uint64_t total = 0;
  std::error_code ec;
  for (const fs::path& p : {impl_->path, fs::path(impl_->path.string() + "-wal")}) {
    auto n = fs::file_size(p, ec);
    if (!ec) total += n;
  }
  return total;
}

std::uint64_t UpstreamRecords::errors() {
  std::lock_guard lock(impl_->mutex);
  return impl_->errors;
}

const fs::path& UpstreamRecords::path() const {
  return impl_->path;
}

fs::path upstream_records_path(const fs::path& store_path) {
  fs::path p = store_path;
  const std::string ext = p.extension().string();
  p.replace_filename(p.stem().string() + ".upstream" + ext);
  return p;
}

}  // namespace mqttsn::store
