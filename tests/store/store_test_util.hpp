#pragma once
// Helpers shared by the store tests: opening a store that must open, byte vectors, and a second,
// independent SQLite connection to look at the file the way another process would.
#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/store/sqlite_util.hpp"
#include "gateway/store/store.hpp"

namespace mqttsn::store::test {

inline std::vector<std::uint8_t> bytes(std::string_view s) {
  return {s.begin(), s.end()};
}

inline std::unique_ptr<Store> must_open(const std::filesystem::path& p, StoreLimits limits = {}) {
  OpenReport report;
  std::string error;
  auto s = Store::open(p, limits, report, error);
  INFO("open error: " << error);
  REQUIRE(s != nullptr);
  CHECK_FALSE(report.recovered);
  return s;
}

// An independent connection (its own file handles and locks), as a second process would have.
class RawDb {
 public:
  explicit RawDb(const std::filesystem::path& p) {
    sql::Error err;
    db_ = sql::open(p.string(), err);
    INFO("raw open: " << err.message);
    REQUIRE(db_ != nullptr);
  }
  void exec(const char* sql) {
    sql::Error err;
    bool ok = sql::exec(db_.get(), sql, err);
    INFO(sql << ": " << err.message);
    REQUIRE(ok);
  }
  std::int64_t integer(const char* sql) {
    sql::Error err;
    auto v = sql::query_int(db_.get(), sql, err);
    INFO(sql << ": " << err.message);
    REQUIRE(v.has_value());
    return *v;
  }
  sqlite3* get() { return db_.get(); }

 private:
  sql::Db db_;
};

}  // namespace mqttsn::store::test
