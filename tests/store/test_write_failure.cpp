// A commit that cannot reach the disk (the file size limit stands in for a full card): commit()
// says so, nothing half-written survives, the counts follow the file, and the store goes on.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include "store_test_util.hpp"
#include "support/temp_dir.hpp"

using namespace mqttsn::store;
namespace fs = std::filesystem;

namespace {

// In a child: RLIMIT_FSIZE and SIGXFSZ are process-wide. Returns the step that went wrong, 0 if none.
int failing_commit(const fs::path& db) {
  OpenReport report;
  std::string error;
  auto s = Store::open(db, {}, report, error);
  if (!s) return 1;
  const std::vector<std::uint8_t> kb(1000, 0xAB);
  if (s->add_uplink("n", "kept", kb, 1, false) <= 0 || !s->commit()) return 2;

  signal(SIGXFSZ, SIG_IGN);  // a write past the limit then fails with EFBIG instead of killing us
  rlimit lim{};
  getrlimit(RLIMIT_FSIZE, &lim);
  const rlimit small{static_cast<rlim_t>(fs::file_size(db.string() + "-wal") + 8192), lim.rlim_max};
  if (setrlimit(RLIMIT_FSIZE, &small) != 0) return 3;

  for (int i = 0; i < 100; ++i) {  // ~100 KiB: stays in the page cache until COMMIT writes the WAL
    if (s->add_uplink("n", "lost", kb, 1, false) <= 0) return 4;
  }
  if (s->stats().uplink_messages != 101) return 5;
  if (s->commit()) return 6;  // must fail: the WAL cannot grow
  if (s->pending()) return 7;
  const auto st = s->stats();
  std::fprintf(stderr, "after failed commit: errors=%llu messages=%zu\n",
               static_cast<unsigned long long>(st.errors), st.uplink_messages);
  if (st.errors == 0) return 8;
  if (st.uplink_messages != 1 || st.uplink_bytes != 4 + 1000) return 9;  // re-read from the file
  if (s->load_uplink().size() != 1) return 10;

  if (setrlimit(RLIMIT_FSIZE, &lim) != 0) return 11;
  if (s->add_uplink("n", "after", kb, 2, false) <= 0 || !s->commit()) return 12;
  return 0;
}

}  // namespace

TEST_CASE("a commit that cannot be written returns false, rolls back, and the store goes on") {
  mqttsn::test::TempDir dir("store");
  const auto db = dir.path() / "gw.db";
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) _exit(failing_commit(db));
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);

  OpenReport report;
  std::string error;
  auto s = Store::open(db, {}, report, error);
  REQUIRE(s != nullptr);
  CHECK_FALSE(report.recovered);
  auto rows = s->load_uplink();
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].topic == "kept");
  CHECK(rows[1].topic == "after");
  CHECK(rows[1].qos == 2);
}
