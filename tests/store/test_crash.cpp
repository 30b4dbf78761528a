// A writer process dies mid-way (exit without cleanup, or SIGKILL): on reopen every committed
// batch is there, in order, byte for byte, and nothing of the batch that was not committed.
// (Process death only: the OS page cache survives it. Power-cut durability rests on
// synchronous=FULL, which a test on a running kernel cannot cut.)
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>

#include "store_test_util.hpp"
#include "support/temp_dir.hpp"

using namespace mqttsn::store;
namespace fs = std::filesystem;

namespace {

constexpr int kRows = 1000;
constexpr int kBatch = 10;

// Row i's content, so the reader can check every byte without sharing memory with the writer.
std::string client_of(int i) {
  return "node-" + std::to_string(i % 5);
}
std::string topic_of(int i) {
  return "sensors/" + std::to_string(i) + "/t";
}
std::vector<std::uint8_t> payload_of(int i) {
  std::vector<std::uint8_t> p(static_cast<std::size_t>(i % 50));
  for (std::size_t j = 0; j < p.size(); ++j) p[j] = static_cast<std::uint8_t>(i * 7 + static_cast<int>(j));
  return p;
}

enum class Death { exit_mid_batch, sigkill_when_parked, sigkill_anytime };

// The child: adds rows, commits every kBatch, reports each committed count on `progress`.
[[noreturn]] void writer(const fs::path& db, Death death, int progress, int park) {
  OpenReport report;
  std::string error;
  auto s = Store::open(db, {}, report, error);
  if (!s) _exit(2);
  for (int i = 0; i < kRows; ++i) {
    if (s->add_uplink(client_of(i), topic_of(i), payload_of(i), 1 + i % 2, i % 3 == 0) != i + 1) _exit(3);
    const int added = i + 1;
    if (death == Death::exit_mid_batch && added == 735) _exit(0);  // 5 rows uncommitted
    if (death == Death::sigkill_when_parked && added == 505) {
      int marker = -1;
      if (write(progress, &marker, sizeof marker) != sizeof marker) _exit(4);
      char c;
      (void)!read(park, &c, 1);  // the parent kills us here
      _exit(5);
    }
    if (added % kBatch == 0) {
      if (!s->commit()) _exit(6);
      if (write(progress, &added, sizeof added) != sizeof added) _exit(4);
    }
  }
  _exit(0);
}

struct Result {
  int last_reported = 0;  // highest committed count the child said it had
  int status = 0;
};

Result run_writer(const fs::path& db, Death death) {
  int progress[2], park[2];
  REQUIRE(pipe(progress) == 0);
  REQUIRE(pipe(park) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(progress[0]);
    close(park[1]);
    writer(db, death, progress[1], park[0]);
  }
  close(progress[1]);
  close(park[0]);
  Result r;
  int value;
  while (read(progress[0], &value, sizeof value) == sizeof value) {
    if (death == Death::sigkill_when_parked && value == -1) {
      kill(pid, SIGKILL);
      break;
    }
    r.last_reported = value;
    if (death == Death::sigkill_anytime && value >= 300) {
      // A random few ms later the child is somewhere in the next batches, maybe inside a commit.
      std::random_device rd;
      usleep(static_cast<useconds_t>(rd() % 20000));
      kill(pid, SIGKILL);
      break;
    }
  }
  REQUIRE(waitpid(pid, &r.status, 0) == pid);
  close(progress[0]);
  close(park[1]);
  return r;
}

// Every row from 1 to the returned count is present and exact; the count is a whole batch.
int check_rows(const fs::path& db) {
  OpenReport report;
  std::string error;
  auto s = Store::open(db, {}, report, error);
  INFO(error);
  REQUIRE(s != nullptr);
  CHECK_FALSE(report.recovered);
  auto rows = s->load_uplink();
  const int n = static_cast<int>(rows.size());
  CHECK(n % kBatch == 0);
  for (int i = 0; i < n; ++i) {
    const auto& r = rows[static_cast<std::size_t>(i)];
    INFO("row " << i);
    REQUIRE(r.id == i + 1);
    CHECK(r.client_id == client_of(i));
    CHECK(r.topic == topic_of(i));
    CHECK(r.payload == payload_of(i));
    CHECK(r.qos == 1 + i % 2);
    CHECK(r.retain == (i % 3 == 0));
  }
  CHECK(s->stats().uplink_messages == rows.size());
  // The store goes on from there.
  CHECK(s->add_uplink("n", "t", {}, 1, false) > n);
  CHECK(s->commit());
  return n;
}

}  // namespace

TEST_CASE("writer exits without closing in the middle of a batch: the committed 730 rows remain") {
  mqttsn::test::TempDir dir("store");
  const auto db = dir.path() / "gw.db";
  auto r = run_writer(db, Death::exit_mid_batch);
  REQUIRE(WIFEXITED(r.status));
  REQUIRE(WEXITSTATUS(r.status) == 0);
  CHECK(r.last_reported == 730);
  CHECK(fs::exists(db.string() + "-wal"));  // nothing checkpointed it away: recovery reads the WAL
  CHECK(check_rows(db) == 730);
}

TEST_CASE("writer SIGKILLed with 5 rows of a batch uncommitted: exactly the committed 500 remain") {
  mqttsn::test::TempDir dir("store");
  const auto db = dir.path() / "gw.db";
  auto r = run_writer(db, Death::sigkill_when_parked);
  REQUIRE(WIFSIGNALED(r.status));
  REQUIRE(WTERMSIG(r.status) == SIGKILL);
  CHECK(r.last_reported == 500);
  CHECK(check_rows(db) == 500);
}

TEST_CASE(
    "writer SIGKILLed at a moment of the scheduler's choosing: whole batches, at least those reported") {
  mqttsn::test::TempDir dir("store");
  const auto db = dir.path() / "gw.db";
  auto r = run_writer(db, Death::sigkill_anytime);
  const int n = check_rows(db);
  CHECK(n >= r.last_reported);
  CHECK(n <= kRows);
  MESSAGE("reported " << r.last_reported << ", found " << n << ", killed: " << WIFSIGNALED(r.status));
}
