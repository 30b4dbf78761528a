// The upstream client's records file (Paho persistence for QoS 2 exchanges): round trips, the
// delivered notes that tie a completed exchange to its store row, reopening, a damaged file, and a
// writer killed right after put() returned.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "gateway/store/upstream_records.hpp"
#include "store_test_util.hpp"
#include "support/temp_dir.hpp"

using namespace mqttsn::store;
using mqttsn::store::test::bytes;
namespace fs = std::filesystem;

namespace {
std::unique_ptr<UpstreamRecords> must_open_records(const fs::path& p) {
  OpenReport report;
  std::string error;
  auto r = UpstreamRecords::open(p, report, error);
  INFO("open error: " << error);
  REQUIRE(r != nullptr);
  CHECK_FALSE(report.recovered);
  return r;
}
}  // namespace

TEST_CASE("upstream records: the file sits beside the store under a name of its own") {
  CHECK(upstream_records_path("/var/lib/mqttsn-gw/gateway.db") == "/var/lib/mqttsn-gw/gateway.upstream.db");
  CHECK(upstream_records_path("state") == "state.upstream");
}

TEST_CASE("upstream records: put, get, replace keeps the row, load lists them by key") {
  mqttsn::test::TempDir dir("upstream-records");
  auto r = must_open_records(dir.path() / "g.upstream.db");
  CHECK(r->put("s-7", bytes("publish-7"), 41));
  CHECK(r->put("sc-7", bytes("pubrel-7"), 41));
  CHECK(r->put("s-8", bytes("publish-8"), 0));
  CHECK(r->get("s-7") == bytes("publish-7"));
  CHECK_FALSE(r->get("s-9").has_value());
  // Paho stores "s-7" again when it resends the PUBLISH (DUP): the row it carried stays.
  CHECK(r->put("s-7", bytes("publish-7-dup"), 0));
  auto all = r->load();
  REQUIRE(all.size() == 3);
  CHECK(all[0].key == "s-7");
  CHECK(all[0].value == bytes("publish-7-dup"));
  CHECK(all[0].row == 41);
  CHECK(all[1].key == "s-8");
  CHECK(all[1].row == 0);
  CHECK(all[2].key == "sc-7");
  CHECK(all[2].row == 41);
  CHECK(r->size() == 3);
}

TEST_CASE(
    "upstream records: a removal may note its row delivered; the note outlives a reopen until forgotten") {
  mqttsn::test::TempDir dir("upstream-records");
  const auto path = dir.path() / "g.upstream.db";
  {
    auto r = must_open_records(path);
    CHECK(r->put("s-1", bytes("a"), 10));
    CHECK(r->put("sc-1", bytes("b"), 10));
    CHECK(r->put("s-2", bytes("c"), 11));
    CHECK(r->remove("s-1", 10));  // PUBCOMP: the exchange of row 10 ended
    CHECK(r->remove("sc-1", 0));
    CHECK(r->remove("never-stored", 0));
    CHECK(r->delivered() == std::vector<std::int64_t>{10});
  }
  auto r = must_open_records(path);
  CHECK(r->delivered() == std::vector<std::int64_t>{10});
  REQUIRE(r->load().size() == 1);
  CHECK(r->load()[0].key == "s-2");
  const std::int64_t rows[] = {10};
  CHECK(r->forget_delivered(rows));
  CHECK(r->delivered().empty());
  // clear() is Paho's clean session: the records go, a delivered note (a store row) would stay.
  CHECK(r->remove("s-2", 11));
  CHECK(r->put("s-3", bytes("d"), 12));
  CHECK(r->clear());
  CHECK(r->load().empty());
  CHECK(r->delivered() == std::vector<std::int64_t>{11});
}

TEST_CASE("upstream records: a file of garbage is moved aside and a new one serves") {
  mqttsn::test::TempDir dir("upstream-records");
  const auto path = dir.path() / "g.upstream.db";
  std::ofstream(path) << std::string(8192, 'x');
  OpenReport report;
  std::string error;
  auto r = UpstreamRecords::open(path, report, error);
  REQUIRE_MESSAGE(r != nullptr, error);
  CHECK(report.recovered);
  CHECK(fs::exists(report.moved_to));
  CHECK(r->put("s-1", bytes("x"), 5));
  CHECK(r->load().size() == 1);
}

TEST_CASE("upstream records: what put() accepted is there after the writer is killed") {
  mqttsn::test::TempDir dir("upstream-records");
  const auto path = dir.path() / "g.upstream.db";
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(ready[0]);
    OpenReport report;
    std::string error;
    auto r = UpstreamRecords::open(path, report, error);
    bool ok = r != nullptr;
    for (int i = 0; ok && i < 50; ++i) ok = r->put("s-" + std::to_string(i), bytes("p"), 100 + i);
    ok = ok && r->remove("s-0", 100);
    const char c = ok ? 'y' : 'n';
    (void)!::write(ready[1], &c, 1);
    ::pause();  // killed here, the connection still open
    ::_exit(0);
  }
  ::close(ready[1]);
  char c = 0;
  REQUIRE(::read(ready[0], &c, 1) == 1);
  CHECK(c == 'y');
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(ready[0]);
  auto r = must_open_records(path);
  CHECK(r->load().size() == 49);
  CHECK(r->delivered() == std::vector<std::int64_t>{100});
}

TEST_CASE("upstream records: the inbox keeps messages in arrival order; ids keep growing across a reopen") {
  mqttsn::test::TempDir dir("upstream-records");
  const auto path = dir.path() / "g.upstream.db";
  using E = UpstreamRecords::ExchangeRecord;
  std::int64_t first = 0, second = 0;
  {
    auto r = must_open_records(path);
    first = r->add_to_inbox("cmd/a", bytes("one"), 1, false, "", E::remove);
    second = r->add_to_inbox("cmd/b", bytes("two"), 2, true, "", E::remove);
    CHECK(first > 0);
    CHECK(second > first);
    CHECK(r->inbox_size() == 2);
    auto after_first = r->inbox_after(first);
    REQUIRE(after_first.size() == 1);
    CHECK(after_first[0].topic == "cmd/b");
    CHECK(after_first[0].payload == bytes("two"));
    CHECK(after_first[0].qos == 2);
    CHECK(after_first[0].retain);
    CHECK(r->drop_inbox_through(second));
    CHECK(r->inbox_size() == 0);
  }
  auto r = must_open_records(path);
  // Emptied and reopened: a new message still gets a larger id than any taken before.
  CHECK(r->add_to_inbox("cmd/c", bytes("three"), 1, false, "", E::remove) > second);
}

TEST_CASE("upstream records: a QoS 2 message enters the inbox with its exchange record removed or marked") {
  mqttsn::test::TempDir dir("upstream-records");
  auto r = must_open_records(dir.path() / "g.upstream.db");
  using E = UpstreamRecords::ExchangeRecord;
  CHECK(r->put("r-5", bytes("received-5"), 0));
  CHECK(r->put("r-6", bytes("received-6"), 0));
  CHECK(r->add_to_inbox("cmd/x", bytes("five"), 2, false, "r-5", E::remove) > 0);
  CHECK(r->add_to_inbox("cmd/y", bytes("six"), 2, false, "r-6", E::mark_taken) > 0);
  auto all = r->load();
  REQUIRE(all.size() == 1);
  CHECK(all[0].key == "r-6");
  CHECK(all[0].row == -1);
  CHECK(r->inbox_after(0).size() == 2);
}
