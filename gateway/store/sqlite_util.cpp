#include "gateway/store/sqlite_util.hpp"

#include <cstring>

#include "gateway/store/io_counting_vfs.hpp"

namespace mqttsn::store::sql {

Error last_error(sqlite3* db, int rc) {
  Error e;
  e.code = rc & 0xff;
  e.message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return e;
}

Db open(const std::string& path, Error& err) {
  sqlite3* raw = nullptr;
  // Through the counting VFS: what the gateway's files cost the disk is counted (StoreStats).
  int rc = sqlite3_open_v2(path.c_str(), &raw,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, io::vfs_name());
  Db db(raw);
  if (rc != SQLITE_OK) {
    err = last_error(raw, rc);
    // "unable to open database file" alone does not tell an operator what to fix.
    if (int e = raw != nullptr ? sqlite3_system_errno(raw) : 0; e != 0)
      err.message += std::string(" (") + std::strerror(e) + ")";
    return nullptr;
  }
  sqlite3_extended_result_codes(raw, 1);
  return db;
}

Stmt prepare(sqlite3* db, std::string_view sql, Error& err) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &raw,
                              nullptr);
  Stmt s(raw);
  if (rc != SQLITE_OK) {
    err = last_error(db, rc);
    return nullptr;
  }
  return s;
}

bool exec(sqlite3* db, const char* sql, Error& err) {
  char* msg = nullptr;
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, &msg);
  if (rc == SQLITE_OK) return true;
  err.code = rc & 0xff;
  err.message = msg != nullptr ? msg : sqlite3_errstr(rc);
  sqlite3_free(msg);
  return false;
}

namespace {
// Steps a one-off statement to its first row; the caller reads column 0 through `read`.
template <typename T, typename Read>
std::optional<T> query_first(sqlite3* db, const char* sql, Error& err, Read read) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &raw, nullptr);
  Stmt s(raw);
  if (rc != SQLITE_OK) {
    err = last_error(db, rc);
    return std::nullopt;
  }
  rc = sqlite3_step(raw);
  if (rc != SQLITE_ROW) {
    err = rc == SQLITE_DONE ? Error{SQLITE_ERROR, std::string("no row from: ") + sql} : last_error(db, rc);
    return std::nullopt;
  }
  return read(raw);
}
}  // namespace

std::optional<std::string> query_text(sqlite3* db, const char* sql, Error& err) {
  return query_first<std::string>(db, sql, err, [](sqlite3_stmt* s) { return column_text(s, 0); });
}

std::optional<std::int64_t> query_int(sqlite3* db, const char* sql, Error& err) {
  return query_first<std::int64_t>(db, sql, err,
                                   [](sqlite3_stmt* s) { return std::int64_t{sqlite3_column_int64(s, 0)}; });
}

int bind_text(sqlite3_stmt* s, int index, std::string_view text) {
  return sqlite3_bind_text(s, index, text.empty() ? "" : text.data(), static_cast<int>(text.size()),
                           SQLITE_STATIC);
}

int bind_blob(sqlite3_stmt* s, int index, const void* data, std::size_t size) {
  if (size == 0) return sqlite3_bind_zeroblob(s, index, 0);
  return sqlite3_bind_blob(s, index, data, static_cast<int>(size), SQLITE_STATIC);
}

std::string column_text(sqlite3_stmt* s, int col) {
  const auto* p = sqlite3_column_text(s, col);
  int n = sqlite3_column_bytes(s, col);
  return p != nullptr ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n))
                      : std::string();
}

}  // namespace mqttsn::store::sql
