// Store's operations: group-committed writes through statements prepared once at open.
#include <cstring>
#include <system_error>

#include "gateway/core/log.hpp"
#include "gateway/store/io_counting_vfs.hpp"
#include "gateway/store/store_impl.hpp"

namespace mqttsn::store {

namespace fs = std::filesystem;

namespace {
// Octets a row holds toward max_uplink_bytes. CAST: length() of TEXT counts characters.
constexpr const char* kRowBytes = "length(CAST(topic AS BLOB)) + length(payload)";

std::vector<std::uint8_t> column_blob(sqlite3_stmt* s, int col) {
  const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(s, col));
  int n = sqlite3_column_bytes(s, col);
  return p != nullptr ? std::vector<std::uint8_t>(p, p + n) : std::vector<std::uint8_t>();
}

// Resets on scope exit, so a statement never stays mid-step (which would hold a read snapshot).
struct ResetGuard {
  sqlite3_stmt* s;
  ~ResetGuard() { sqlite3_reset(s); }
};
}  // namespace

bool Store::Impl::prepare_all(sql::Error& err) {
  sqlite3* d = db.get();
  const std::string delete_sql = std::string("DELETE FROM uplink WHERE id = ?1 RETURNING ") + kRowBytes;
  const std::string totals_sql = std::string("SELECT count(*), total(") + kRowBytes + ") FROM uplink";
  return (begin = sql::prepare(d, "BEGIN IMMEDIATE", err)) && (commit = sql::prepare(d, "COMMIT", err)) &&
         (rollback = sql::prepare(d, "ROLLBACK", err)) &&
         (insert_uplink = sql::prepare(
              d, "INSERT INTO uplink (client_id, topic, payload, qos, retain) VALUES (?1, ?2, ?3, ?4, ?5)",
              err)) &&
         (delete_uplink = sql::prepare(d, delete_sql, err)) &&
         (select_uplink = sql::prepare(
              d, "SELECT id, client_id, topic, payload, qos, retain FROM uplink ORDER BY id", err)) &&
         (uplink_totals = sql::prepare(d, totals_sql, err)) &&
         (upsert_session = sql::prepare(d,
                                        "INSERT INTO session (client_id, data) VALUES (?1, ?2) "
                                        "ON CONFLICT (client_id) DO UPDATE SET data = excluded.data",
                                        err)) &&
         (delete_session = sql::prepare(d, "DELETE FROM session WHERE client_id = ?1", err)) &&
         (select_sessions = sql::prepare(d, "SELECT client_id, data FROM session ORDER BY client_id", err)) &&
         (count_sessions = sql::prepare(d, "SELECT count(*) FROM session", err)) &&
         (upsert_session_message = sql::prepare(
              d,
              "INSERT OR REPLACE INTO session_message (client_id, seq, topic, payload, qos, retain) "
              "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
              err)) &&
         (delete_session_message =
              sql::prepare(d, "DELETE FROM session_message WHERE client_id = ?1 AND seq = ?2", err)) &&
         (delete_session_messages =
              sql::prepare(d, "DELETE FROM session_message WHERE client_id = ?1", err)) &&
         (select_session_messages = sql::prepare(d,
                                                 "SELECT client_id, seq, topic, payload, qos, retain FROM "
                                                 "session_message ORDER BY client_id, seq",
                                                 err)) &&
         (session_message_totals = sql::prepare(
              d, std::string("SELECT count(*), total(") + kRowBytes + ") FROM session_message", err)) &&
         (upsert_progress = sql::prepare(d,
                                         "INSERT INTO progress (name, value) VALUES (?1, ?2) "
                                         "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                                         err)) &&
         (select_progress = sql::prepare(d, "SELECT value FROM progress WHERE name = ?1", err));
}

void Store::Impl::finalize_statements() {
  for (sql::Stmt* st :
       {&begin, &commit, &rollback, &insert_uplink, &delete_uplink, &select_uplink, &uplink_totals,
        &upsert_session, &delete_session, &select_sessions, &count_sessions, &upsert_session_message,
        &delete_session_message, &delete_session_messages, &select_session_messages, &session_message_totals,
        &upsert_progress, &select_progress})
    st->reset();
}

bool Store::Impl::load_counts(sql::Error& err) {
  sqlite3_stmt* s = uplink_totals.get();
  ResetGuard reset{s};
  int rc = sqlite3_step(s);
  if (rc != SQLITE_ROW) {
    err = sql::last_error(db.get(), rc);
    return false;
  }
  uplink_messages = static_cast<std::size_t>(sqlite3_column_int64(s, 0));
  uplink_bytes = static_cast<std::size_t>(sqlite3_column_double(s, 1));
  return true;
}

void Store::Impl::failed(const char* what, int rc) {
  ++errors;
  // The system's errno says which I/O error (EFBIG, ENOSPC, EIO) a bare "disk I/O error" was.
  const int sys = sqlite3_system_errno(db.get());
  MQTTSN_LOG(error, "store: %s: %s (code %d%s%s)", what, sqlite3_errmsg(db.get()), rc, sys != 0 ? ", " : "",
             sys != 0 ? std::strerror(sys) : "");
  if (in_transaction && sqlite3_get_autocommit(db.get()) != 0) {
    in_transaction = false;
    MQTTSN_LOG(error, "store: SQLite rolled back the open transaction: its writes are lost");
    sql::Error err;
    if (!load_counts(err)) ++errors;
  }
}

bool Store::Impl::begin_if_needed() {
  if (in_transaction) return true;
  ResetGuard reset{begin.get()};
  int rc = sqlite3_step(begin.get());
  if (rc != SQLITE_DONE) {
    failed("BEGIN", rc);
    return false;
  }
  in_transaction = true;
  return true;
}

bool Store::Impl::run_write(sqlite3_stmt* s, const char* what) {
  ResetGuard reset{s};
  int rc = sqlite3_step(s);
  while (rc == SQLITE_ROW) rc = sqlite3_step(s);
  if (rc != SQLITE_DONE) {
    failed(what, rc);
    return false;
  }
  rows_written += static_cast<std::uint64_t>(sqlite3_changes(db.get()));
  return true;
}

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Store::~Store() {
  if (impl_->in_transaction) commit();
}

bool Store::uplink_has_room(std::size_t topic_and_payload_bytes) const {
  return impl_->uplink_messages + 1 <= impl_->limits.max_uplink_messages &&
         impl_->uplink_bytes + topic_and_payload_bytes <= impl_->limits.max_uplink_bytes;
}

std::int64_t Store::add_uplink(std::string_view client_id, std::string_view topic,
                               std::span<const std::uint8_t> payload, int qos, bool retain) {
  if (qos != 1 && qos != 2) {
    MQTTSN_LOG(error, "store: uplink from %.*s with qos %d not stored (only 1 and 2 are)",
               static_cast<int>(client_id.size()), client_id.data(), qos);
    return 0;
  }
  const std::size_t bytes = topic.size() + payload.size();
  if (!uplink_has_room(bytes)) return 0;
  Impl& s = *impl_;
  if (!s.begin_if_needed()) return 0;
  sqlite3_stmt* st = s.insert_uplink.get();
  sql::bind_text(st, 1, client_id);
  sql::bind_text(st, 2, topic);
  sql::bind_blob(st, 3, payload.data(), payload.size());
  sqlite3_bind_int(st, 4, qos);
  sqlite3_bind_int(st, 5, retain ? 1 : 0);
  if (!s.run_write(st, "add uplink")) return 0;
  ++s.uplink_messages;
  s.uplink_bytes += bytes;
  return sqlite3_last_insert_rowid(s.db.get());
}

void Store::remove_uplink(std::int64_t id) {
  Impl& s = *impl_;
  if (!s.begin_if_needed()) return;
  sqlite3_stmt* st = s.delete_uplink.get();
  ResetGuard reset{st};
  sqlite3_bind_int64(st, 1, id);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    auto bytes = static_cast<std::size_t>(sqlite3_column_int64(st, 0));
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
      --s.uplink_messages;
      s.uplink_bytes -= std::min(bytes, s.uplink_bytes);
    }
  }
  if (rc != SQLITE_DONE) {
    s.failed("remove uplink", rc);
    return;
  }
  s.rows_written += static_cast<std::uint64_t>(sqlite3_changes(s.db.get()));
}

std::vector<UplinkRecord> Store::load_uplink() const {
  Impl& s = *impl_;
  std::vector<UplinkRecord> out;
  out.reserve(s.uplink_messages);
  sqlite3_stmt* st = s.select_uplink.get();
  ResetGuard reset{st};
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    UplinkRecord r;
    r.id = sqlite3_column_int64(st, 0);
    r.client_id = sql::column_text(st, 1);
    r.topic = sql::column_text(st, 2);
    r.payload = column_blob(st, 3);
    r.qos = sqlite3_column_int(st, 4);
    r.retain = sqlite3_column_int(st, 5) != 0;
    out.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) s.failed("load uplink", rc);
  return out;
}

void Store::put_session(std::string_view client_id, std::span<const std::uint8_t> data) {
  Impl& s = *impl_;
  if (!s.begin_if_needed()) return;
  sqlite3_stmt* st = s.upsert_session.get();
  sql::bind_text(st, 1, client_id);
  sql::bind_blob(st, 2, data.data(), data.size());
  s.run_write(st, "put session");
}

void Store::erase_session(std::string_view client_id) {
  Impl& s = *impl_;
  if (!s.begin_if_needed()) return;
  sqlite3_stmt* st = s.delete_session.get();
  sql::bind_text(st, 1, client_id);
  if (s.run_write(st, "erase session")) erase_session_messages(client_id);
}

std::vector<SessionRecord> Store::load_sessions() const {
  Impl& s = *impl_;
  std::vector<SessionRecord> out;
  sqlite3_stmt* st = s.select_sessions.get();
  ResetGuard reset{st};
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    out.push_back(SessionRecord{sql::column_text(st, 0), column_blob(st, 1)});
  }
  if (rc != SQLITE_DONE) s.failed("load sessions", rc);
  return out;
}

void Store::put_session_message(const SessionMessageRecord& m) {
  Impl& s = *impl_;
  if (!s.begin_if_needed()) return;
  sqlite3_stmt* st = s.upsert_session_message.get();
  sql::bind_text(st, 1, m.client_id);
  sqlite3_bind_int64(st, 2, static_cast<sqlite3_int64>(m.seq));
  sql::bind_text(st, 3, m.topic);
  sql::bind_blob(st, 4, m.payload.data(), m.payload.size());
  sqlite3_bind_int(st, 5, m.qos);
  sqlite3_bind_int(st, 6, m.retain ? 1 : 0);
  s.run_write(st, "put session message");
}

void Store::erase_session_message(std::string_view client_id, std::uint64_t seq) {
  Impl& s = *impl_;
  if (!s.begin_if_needed()) return;
  sqlite3_stmt* st = s.delete_session_message.get();
  sql::bind_text(st, 1, client_id);
  sqlite3_bind_int64(st, 2, static_cast<sqlite3_int64>(seq));
  s.run_write(st, "erase session message");
}

void Store::erase_session_messages(std::string_view client_id) {
  Impl& s = *impl_;
  if (!s.begin_if_needed()) return;
  sqlite3_stmt* st = s.delete_session_messages.get();
  sql::bind_text(st, 1, client_id);
  s.run_write(st, "erase session messages");
}

std::vector<SessionMessageRecord> Store::load_session_messages() const {
  Impl& s = *impl_;
  std::vector<SessionMessageRecord> out;
  sqlite3_stmt* st = s.select_session_messages.get();
  ResetGuard reset{st};
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    SessionMessageRecord m;
    m.client_id = sql::column_text(st, 0);
    m.seq = static_cast<std::uint64_t>(sqlite3_column_int64(st, 1));
    m.topic = sql::column_text(st, 2);
    m.payload = column_blob(st, 3);
    m.qos = sqlite3_column_int(st, 4);
    m.retain = sqlite3_column_int(st, 5) != 0;
    out.push_back(std::move(m));
  }
  if (rc != SQLITE_DONE) s.failed("load session messages", rc);
  return out;
}

namespace {
constexpr std::string_view kInboxTaken = "inbox_taken";
}

void Store::note_inbox_taken(std::int64_t id) {
  Impl& s = *impl_;
  if (!s.begin_if_needed()) return;
  sqlite3_stmt* st = s.upsert_progress.get();
  sql::bind_text(st, 1, kInboxTaken);
  sqlite3_bind_int64(st, 2, id);
  s.run_write(st, "note inbox taken");
}

std::int64_t Store::inbox_taken() const {
  Impl& s = *impl_;
  sqlite3_stmt* st = s.select_progress.get();
  ResetGuard reset{st};
  sql::bind_text(st, 1, kInboxTaken);
  const int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) return sqlite3_column_int64(st, 0);
  if (rc != SQLITE_DONE) s.failed("read inbox taken", rc);
  return 0;
}

bool Store::pending() const {
  return impl_->in_transaction;
}

bool Store::commit() {
  Impl& s = *impl_;
  if (!s.in_transaction) return true;
  int rc;
  {
    ResetGuard reset{s.commit.get()};
    rc = sqlite3_step(s.commit.get());
  }
  if (rc == SQLITE_DONE) {
    s.in_transaction = false;
    ++s.commits;
    return true;
  }
  s.failed("COMMIT", rc);
  if (s.in_transaction) {
    // Still open: end it, so the next write starts from the file's last good state.
    ResetGuard reset{s.rollback.get()};
    int rb = sqlite3_step(s.rollback.get());
    if (rb != SQLITE_DONE) ++s.errors;
    s.in_transaction = false;
    sql::Error err;
    if (!s.load_counts(err)) ++s.errors;
  }
  return false;
}

StoreStats Store::stats() const {
  Impl& s = *impl_;
  StoreStats st;
  st.uplink_messages = s.uplink_messages;
  st.uplink_bytes = s.uplink_bytes;
  st.commits = s.commits;
  st.rows_written = s.rows_written;
  {
    sqlite3_stmt* c = s.count_sessions.get();
    ResetGuard reset{c};
    int rc = sqlite3_step(c);
    if (rc == SQLITE_ROW) {
      st.sessions = static_cast<std::size_t>(sqlite3_column_int64(c, 0));
    } else {
      s.failed("count sessions", rc);
    }
  }
  {
    sqlite3_stmt* c = s.session_message_totals.get();
    ResetGuard reset{c};
    int rc = sqlite3_step(c);
    if (rc == SQLITE_ROW) {
      st.session_messages = static_cast<std::size_t>(sqlite3_column_int64(c, 0));
      st.session_message_bytes = static_cast<std::size_t>(sqlite3_column_double(c, 1));
    } else {
      s.failed("count session messages", rc);
    }
  }
  st.errors = s.errors;
  std::error_code ec;
  for (const fs::path& p : {s.path, fs::path(s.path.string() + "-wal")}) {
    auto n = fs::file_size(p, ec);
    if (!ec) st.file_bytes += n;
  }
  const io::IoCounts io = io::counts();
  st.bytes_written = io.bytes_written;
  st.syncs = io.syncs;
  return st;
}

const fs::path& Store::path() const {
  return impl_->path;
}

}  // namespace mqttsn::store
