// Store::open: the main store file through dbfile::open_recovering, its statements prepared once.
#include "gateway/store/database_file.hpp"
#include "gateway/store/schema.hpp"
#include "gateway/store/store_impl.hpp"

namespace mqttsn::store {

namespace fs = std::filesystem;

namespace {
constexpr const char* kTables[] = {"uplink", "session", "sqlite_sequence"};
}  // namespace

std::unique_ptr<Store> Store::open(const fs::path& path, StoreLimits limits, OpenReport& report,
                                   std::string& error) {
  // FULL: WAL+NORMAL may lose the last commits in a power cut, and those were acknowledged.
  const dbfile::Layout layout{"store", schema::migrations(), kTables, "FULL"};
  std::unique_ptr<Impl> opened;
  auto attempt = [&](sql::Error& err) {
    auto impl = std::make_unique<Impl>();
    impl->path = path;
    impl->limits = limits;
    const auto outcome = dbfile::open_impl(path, layout, *impl, impl->schema_version, err);
    if (outcome == dbfile::Outcome::ok) opened = std::move(impl);
    return outcome;
  };
  if (!dbfile::open_recovering(path, layout, report, error, attempt)) return nullptr;
  report.schema_version = opened->schema_version;
  return std::unique_ptr<Store>(new Store(std::move(opened)));
}

}  // namespace mqttsn::store
