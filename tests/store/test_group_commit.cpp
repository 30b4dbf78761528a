// Group commit: writes join one transaction; only commit() makes them visible and durable, once.
#include <doctest/doctest.h>

#include "store_test_util.hpp"
#include "support/temp_dir.hpp"

using namespace mqttsn::store;
using mqttsn::store::test::bytes;
using mqttsn::store::test::must_open;
using mqttsn::store::test::RawDb;

TEST_CASE("100 adds and one commit: one commit counted, nothing visible elsewhere before it, all after") {
  mqttsn::test::TempDir dir("store");
  const auto db = dir.path() / "gw.db";
  auto s = must_open(db);
  RawDb other(db);
  CHECK_FALSE(s->pending());
  const auto before = s->stats();
  for (int i = 0; i < 100; ++i) {
    REQUIRE(s->add_uplink("node", "t/" + std::to_string(i), bytes("payload"), 1, false) > 0);
    CHECK(s->pending());
  }
  s->put_session("node", bytes("session"));
  CHECK(other.integer("SELECT count(*) FROM uplink") == 0);
  CHECK(other.integer("SELECT count(*) FROM session") == 0);
  CHECK(s->stats().commits == before.commits);

  REQUIRE(s->commit());
  CHECK_FALSE(s->pending());
  CHECK(other.integer("SELECT count(*) FROM uplink") == 100);
  CHECK(other.integer("SELECT count(*) FROM session") == 1);
  auto st = s->stats();
  CHECK(st.commits == before.commits + 1);
  CHECK(st.rows_written == before.rows_written + 101);

  // Nothing pending: commit() succeeds and does nothing, and is not counted.
  REQUIRE(s->commit());
  REQUIRE(s->commit());
  CHECK(s->stats().commits == st.commits);

  // The next write begins the next transaction.
  s->remove_uplink(s->load_uplink().front().id);
  CHECK(s->pending());
  CHECK(other.integer("SELECT count(*) FROM uplink") == 100);
  REQUIRE(s->commit());
  CHECK(other.integer("SELECT count(*) FROM uplink") == 99);
  CHECK(s->stats().commits == st.commits + 1);
  CHECK(s->stats().errors == 0);
}

TEST_CASE("the file is in WAL mode") {
  mqttsn::test::TempDir dir("store");
  const auto db = dir.path() / "gw.db";
  auto s = must_open(db);
  REQUIRE(s->add_uplink("n", "t", bytes("p"), 1, false) > 0);
  REQUIRE(s->commit());
  // WAL mode is a property of the file (seen by any connection); the -wal file exists while open.
  RawDb other(db);
  mqttsn::store::sql::Error err;
  CHECK(mqttsn::store::sql::query_text(other.get(), "PRAGMA journal_mode", err) ==
        std::optional<std::string>("wal"));
  CHECK(std::filesystem::exists(db.string() + "-wal"));
  CHECK(s->stats().file_bytes >= std::filesystem::file_size(db));
}

TEST_CASE("the destructor commits what is pending") {
  mqttsn::test::TempDir dir("store");
  const auto db = dir.path() / "gw.db";
  {
    auto s = must_open(db);
    REQUIRE(s->add_uplink("n", "t", bytes("p"), 2, true) > 0);
    s->put_session("n", bytes("s"));
    CHECK(s->pending());
  }
  RawDb other(db);
  CHECK(other.integer("SELECT count(*) FROM uplink") == 1);
  CHECK(other.integer("SELECT count(*) FROM session") == 1);
}
