#include "gateway/store/recovery.hpp"

#include <ctime>
#include <system_error>

namespace mqttsn::store::recovery {

namespace fs = std::filesystem;

std::string utc_stamp(std::chrono::system_clock::time_point t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

namespace {

fs::path with_suffix(const fs::path& p, const char* suffix) {
  return fs::path(p.string() + suffix);
}

bool taken(const fs::path& target) {
  std::error_code ec;
  for (const char* s : {"", "-wal", "-shm"}) {
    if (fs::exists(with_suffix(target, s), ec)) return true;
  }
  return false;
}

}  // namespace

fs::path move_aside(const fs::path& db, std::chrono::system_clock::time_point now, std::string& error) {
  const std::string base = db.string() + ".corrupt-" + utc_stamp(now);
  fs::path target = base;
  for (int n = 2; taken(target); ++n) target = base + "-" + std::to_string(n);

  std::error_code ec;
  fs::rename(db, target, ec);
  if (ec) {
    error = "cannot move " + db.string() + " aside: " + ec.message();
    return {};
  }
  // The companions belong to the damaged file: left in place, SQLite would replay the old -wal
  // into the new empty database.
  for (const char* s : {"-wal", "-shm"}) {
    fs::path from = with_suffix(db, s);
    if (!fs::exists(from, ec)) continue;
    fs::rename(from, with_suffix(target, s), ec);
    if (ec) {
      fs::remove(from, ec);
      if (ec) {
        error = "cannot move " + from.string() + " aside: " + ec.message();
        return {};
      }
    }
  }
  return target;
}

}  // namespace mqttsn::store::recovery
