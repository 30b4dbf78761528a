#pragma once
// Thin RAII owners for SQLite handles and the few helpers the store needs. sqlite3.h stays out of
// store.hpp: only the store's own sources and its tests include this header.
#include <sqlite3.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace mqttsn::store::sql {

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Db = std::unique_ptr<sqlite3, DbCloser>;

struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

// A failed SQLite call: the primary result code (extended codes masked off) and SQLite's message.
struct Error {
  int code = SQLITE_OK;
  std::string message;
};

// Opens read-write (creating) with no mutexes: one connection, one thread. Through the counting
// VFS (io_counting_vfs.hpp), as every SQLite file of the gateway is.
Db open(const std::string& path, Error& err);

// Prepared once, kept: SQLITE_PREPARE_PERSISTENT tells SQLite the statement lives long.
Stmt prepare(sqlite3* db, std::string_view sql, Error& err);

// Runs SQL that returns no rows we need (DDL, BEGIN/COMMIT, pragmas that set).
bool exec(sqlite3* db, const char* sql, Error& err);

// The first column of the first row as text/integer (pragmas that report). nullopt on error.
std::optional<std::string> query_text(sqlite3* db, const char* sql, Error& err);
std::optional<std::int64_t> query_int(sqlite3* db, const char* sql, Error& err);

Error last_error(sqlite3* db, int rc);

// Binders that never bind NULL for an empty value: sqlite3_bind_blob/text with a null pointer
// bind SQL NULL, and an empty std::string_view or std::span may well carry a null pointer.
int bind_text(sqlite3_stmt* s, int index, std::string_view text);
int bind_blob(sqlite3_stmt* s, int index, const void* data, std::size_t size);

std::string column_text(sqlite3_stmt* s, int col);

}  // namespace mqttsn::store::sql
