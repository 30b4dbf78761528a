// What goes in comes back out, byte for byte, after close and reopen; ids keep arrival order.
#include <doctest/doctest.h>

#include "store_test_util.hpp"
#include "support/temp_dir.hpp"

using namespace mqttsn::store;
using mqttsn::store::test::bytes;
using mqttsn::store::test::must_open;

TEST_CASE("uplink and session records survive close and reopen byte for byte") {
  mqttsn::test::TempDir dir("store");
  const auto db = dir.path() / "sub" / "dir" / "gw.db";  // parents are created

  std::vector<std::uint8_t> all_bytes(256);
  for (int i = 0; i < 256; ++i) all_bytes[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(i);
  const std::vector<std::uint8_t> zeros(5, 0x00), ff(3, 0xFF), empty;
  const std::string utf8_client =
      "n\xC3\xB6"
      "de-\xE6\xB8\xA9\xE5\xBA\xA6-\xF0\x9F\x8C\xA1";  // nöde-温度-🌡
  const std::string utf8_topic = "caf\xC3\xA9/\xE2\x82\xAC/t";

  std::int64_t a, b, c, d;
  {
    auto s = must_open(db);
    a = s->add_uplink("node-1", "sensors/t", all_bytes, 1, false);
    b = s->add_uplink("node-2", utf8_topic, zeros, 2, true);
    c = s->add_uplink(utf8_client, "x", empty, 1, true);
    d = s->add_uplink("node-1", "", ff, 2, false);
    s->put_session("node-1", bytes("first"));
    s->put_session("node-1", ff);  // upsert replaces
    s->put_session(utf8_client, empty);
    s->put_session("gone", bytes("x"));
    s->erase_session("gone");
    REQUIRE(s->commit());
  }
  CHECK(a > 0);
  CHECK(a < b);
  CHECK(b < c);
  CHECK(c < d);

  auto s = must_open(db);
  auto up = s->load_uplink();
  REQUIRE(up.size() == 4);
  CHECK(up[0].id == a);
  CHECK(up[0].client_id == "node-1");
  CHECK(up[0].topic == "sensors/t");
  CHECK(up[0].payload == all_bytes);
  CHECK(up[0].qos == 1);
  CHECK_FALSE(up[0].retain);
  CHECK(up[1].id == b);
  CHECK(up[1].topic == utf8_topic);
  CHECK(up[1].payload == zeros);
  CHECK(up[1].qos == 2);
  CHECK(up[1].retain);
  CHECK(up[2].client_id == utf8_client);
  CHECK(up[2].payload.empty());
  CHECK(up[3].topic.empty());
  CHECK(up[3].payload == ff);

  auto sessions = s->load_sessions();
  REQUIRE(sessions.size() == 2);
  CHECK(sessions[0].client_id == "node-1");
  CHECK(sessions[0].data == ff);
  CHECK(sessions[1].client_id == utf8_client);
  CHECK(sessions[1].data.empty());

  auto st = s->stats();
  CHECK(st.sessions == 2);
  CHECK(st.uplink_messages == 4);
  CHECK(st.uplink_bytes == 9 + 256 + utf8_topic.size() + 5 + 1 + 0 + 0 + 3);
  CHECK(st.file_bytes > 0);
  CHECK(st.errors == 0);
  CHECK(s->path() == db);
}

TEST_CASE("empty payloads are stored as empty BLOBs, not NULL") {
  mqttsn::test::TempDir dir("store");
  const auto db = dir.path() / "gw.db";
  {
    auto s = must_open(db);
    REQUIRE(s->add_uplink("", "t", {}, 1, false) > 0);
    s->put_session("c", {});
    REQUIRE(s->commit());
  }
  mqttsn::store::test::RawDb raw(db);
  CHECK(raw.integer("SELECT count(*) FROM uplink WHERE typeof(payload) = 'blob' AND length(payload) = 0 "
                    "AND typeof(client_id) = 'text'") == 1);
  CHECK(raw.integer("SELECT count(*) FROM session WHERE typeof(data) = 'blob'") == 1);
}

TEST_CASE("ids keep increasing after deletes and reopen, and are never reused") {
  mqttsn::test::TempDir dir("store");
  const auto db = dir.path() / "gw.db";
  std::vector<std::int64_t> ids;
  {
    auto s = must_open(db);
    for (int i = 0; i < 5; ++i)
      ids.push_back(s->add_uplink("n", "t/" + std::to_string(i), bytes("p"), 1, false));
    s->remove_uplink(ids[1]);
    s->remove_uplink(ids[4]);  // the newest: a plain rowid table would hand its id out again
    s->remove_uplink(999999);  // unknown id: no-op
    REQUIRE(s->commit());
    CHECK(s->stats().uplink_messages == 3);
    CHECK(s->stats().errors == 0);
  }
  {
    auto s = must_open(db);
    auto up = s->load_uplink();
    REQUIRE(up.size() == 3);
    CHECK(up[0].id == ids[0]);
    CHECK(up[1].id == ids[2]);
    CHECK(up[2].id == ids[3]);
    CHECK(up[1].topic == "t/2");
    auto next = s->add_uplink("n", "t/5", bytes("p"), 2, false);
    CHECK(next > ids[4]);
    s->remove_uplink(next);
    REQUIRE(s->commit());
  }
  auto s = must_open(db);
  auto after = s->add_uplink("n", "t/6", bytes("p"), 1, false);
  CHECK(after > ids[4] + 1);
  auto up = s->load_uplink();  // the uncommitted row is visible to its own connection
  REQUIRE(up.size() == 4);
  for (std::size_t i = 1; i < up.size(); ++i) CHECK(up[i - 1].id < up[i].id);
  CHECK(up.back().id == after);
}

TEST_CASE("limits: room is refused at max messages and at max bytes, and freed by removal") {
  mqttsn::test::TempDir dir("store");
  const auto db = dir.path() / "gw.db";
  StoreLimits limits;
  limits.max_uplink_messages = 3;
  limits.max_uplink_bytes = 100;
  {
    auto s = must_open(db, limits);
    CHECK(s->uplink_has_room(100));
    CHECK_FALSE(s->uplink_has_room(101));
    auto first = s->add_uplink("n", "tt", std::vector<std::uint8_t>(38, 1), 1, false);  // 40 bytes
    REQUIRE(first > 0);
    CHECK(s->uplink_has_room(60));
    CHECK_FALSE(s->uplink_has_room(61));
    CHECK(s->add_uplink("n", "t", std::vector<std::uint8_t>(60, 2), 1, false) == 0);  // 61: over bytes
    REQUIRE(s->add_uplink("n", "t", {}, 1, false) > 0);
    REQUIRE(s->add_uplink("n", "t", {}, 1, false) > 0);
    CHECK_FALSE(s->uplink_has_room(0));  // 3 messages held
    CHECK(s->add_uplink("n", "t", {}, 1, false) == 0);
    CHECK(s->stats().uplink_messages == 3);
    CHECK(s->stats().uplink_bytes == 42);
    REQUIRE(s->commit());
  }
  // Counts are reloaded from the file at open.
  auto s = must_open(db, limits);
  CHECK(s->stats().uplink_messages == 3);
  CHECK(s->stats().uplink_bytes == 42);
  CHECK_FALSE(s->uplink_has_room(0));
  s->remove_uplink(s->load_uplink().front().id);
  CHECK(s->stats().uplink_bytes == 2);
  CHECK(s->uplink_has_room(98));
  CHECK_FALSE(s->uplink_has_room(99));
  CHECK(s->stats().errors == 0);
}

TEST_CASE("a qos other than 1 or 2 is not stored") {
  mqttsn::test::TempDir dir("store");
  auto s = must_open(dir.path() / "gw.db");
  CHECK(s->add_uplink("n", "t", {}, 0, false) == 0);
  CHECK(s->add_uplink("n", "t", {}, 3, false) == 0);
  CHECK(s->add_uplink("n", "t", {}, -1, false) == 0);
  CHECK(s->load_uplink().empty());
  CHECK_FALSE(s->pending());
}

TEST_CASE("a kept session's messages are rows of their own: by client and seq, gone with the session") {
  mqttsn::test::TempDir dir("store");
  const auto db = dir.path() / "gw.db";
  {
    auto s = must_open(db);
    s->put_session("b", bytes("session b"));
    s->put_session("a", bytes("session a"));
    s->put_session_message({"b", 7, "cmd/b", bytes("b7"), 1, false});
    s->put_session_message({"a", 12, "cmd/a", bytes("a12"), 2, true});
    s->put_session_message({"a", 3, "cmd/a", {}, 0, false});
    s->put_session_message({"a", 5, "cmd/a/x", bytes("a5"), 1, false});
    s->put_session_message({"a", 5, "cmd/a/x", bytes("a5"), 1, false});  // written again: one row
    s->erase_session_message("a", 12);
    REQUIRE(s->commit());
    const auto st = s->stats();
    CHECK(st.session_messages == 3);
    CHECK(st.session_message_bytes == (5 + 0) + (7 + 2) + (5 + 2));
  }
  auto s = must_open(db);
  auto rows = s->load_session_messages();
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].client_id == "a");
  CHECK(rows[0].seq == 3);
  CHECK(rows[0].payload.empty());
  CHECK(rows[0].qos == 0);
  CHECK(rows[1].seq == 5);
  CHECK(rows[1].topic == "cmd/a/x");
  CHECK(rows[1].payload == bytes("a5"));
  CHECK(rows[2].client_id == "b");
  CHECK(rows[2].seq == 7);
  s->erase_session("a");  // takes its messages along
  REQUIRE(s->commit());
  rows = s->load_session_messages();
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].client_id == "b");
  s->erase_session_messages("b");
  REQUIRE(s->commit());
  CHECK(s->load_session_messages().empty());
  CHECK(s->load_sessions().size() == 1);
}
