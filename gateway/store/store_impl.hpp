#pragma once
// Store's private state, shared by store_open.cpp (building it) and store.cpp (using it).
#include <filesystem>

#include "gateway/store/sqlite_util.hpp"
#include "gateway/store/store.hpp"

namespace mqttsn::store {

struct Store::Impl {
  std::filesystem::path path;
  StoreLimits limits;
  int schema_version = 0;

  // Declared before the statements so it is destroyed after them.
  sql::Db db;
  // Prepared once at open, reused for every call (no SQL parsing per message).
  sql::Stmt begin, commit, rollback;
  sql::Stmt insert_uplink, delete_uplink, select_uplink, uplink_totals;
  sql::Stmt upsert_session, delete_session, select_sessions, count_sessions;
  sql::Stmt upsert_session_message, delete_session_message, delete_session_messages, select_session_messages,
      session_message_totals;
  sql::Stmt upsert_progress, select_progress;

  bool in_transaction = false;
  std::size_t uplink_messages = 0;
  std::size_t uplink_bytes = 0;
  std::uint64_t commits = 0;
  std::uint64_t rows_written = 0;
  std::uint64_t errors = 0;

  // Prepares every statement above; false (with err) if the file's tables do not fit them.
  bool prepare_all(sql::Error& err);
  // Before the connection closes on a failed open (a connection with live statements stays open).
  void finalize_statements();
  // What dbfile::open_impl runs once the file is open: statements, then the counts.
  bool prepare(sql::Error& err) { return prepare_all(err) && load_counts(err); }
  // Re-reads uplink_messages/uplink_bytes from the table (at open, and after SQLite rolled back).
  bool load_counts(sql::Error& err);

  bool begin_if_needed();
  // Steps a write statement to completion and resets it; counts rows and errors.
  bool run_write(sqlite3_stmt* s, const char* what);
  // A failed SQLite call: counted, logged, and if SQLite rolled the transaction back on its own
  // (IOERR, FULL, NOMEM do), our state follows.
  void failed(const char* what, int rc);
};

}  // namespace mqttsn::store
