// What the companion makes of the status socket's bytes, and the queue in front of each WebSocket.
#include <doctest/doctest.h>

#include "web/bounded_queue.hpp"
#include "web/status_reply.hpp"

using namespace mqttsn::web;

TEST_CASE("a status reply is usable when it is a JSON object without error") {
  CHECK(parse_status_reply(R"({"clients":[]})").ok);
  const auto refused = parse_status_reply(R"({"error":"unknown request 'kick'"})");
  CHECK_FALSE(refused.ok);
  CHECK(refused.error == "unknown request 'kick'");
  CHECK_FALSE(parse_status_reply("[1,2]").ok);
  CHECK_FALSE(parse_status_reply("{\"clients\":").ok);
  CHECK(parse_status_reply("").error == "not a JSON object");
}

TEST_CASE("the trace stream is split into lines across reads, and an endless line is dropped") {
  LineSplitter s(16);
  CHECK(s.feed("{\"a\":1}\n{\"b\"").size() == 1);
  const auto two = s.feed(":2}\n\n");
  REQUIRE(two.size() == 2);
  CHECK(two[0] == "{\"b\":2}");
  CHECK(two[1].empty());
  CHECK(s.feed("0123456789").empty());
  CHECK(s.feed("0123456789").empty());  // over 16: dropped whole
  const auto after = s.feed("tail\nok\n");
  REQUIRE(after.size() == 1);
  CHECK(after[0] == "ok");
  CHECK(s.oversized() == 1);
}

TEST_CASE("the WebSocket queue drops and counts what does not fit, and takes lines again once drained") {
  BoundedQueue q(10);
  CHECK(q.push("12345"));
  CHECK(q.push("6789"));
  CHECK_FALSE(q.push("ab"));  // 11 > 10
  CHECK(q.dropped() == 1);
  CHECK(q.bytes() == 9);
  CHECK(q.pop() == "12345");
  CHECK(q.push("ab"));
  CHECK(q.size() == 2);
  CHECK(q.dropped() == 1);
}

TEST_CASE("only kick and clear-buffer with one printable id pass as requests") {
  CHECK(is_allowed_request("kick node1"));
  CHECK(is_allowed_request("clear-buffer node-7"));
  CHECK_FALSE(is_allowed_request("kick"));
  CHECK_FALSE(is_allowed_request("kick "));
  CHECK_FALSE(is_allowed_request("kick a b"));
  CHECK_FALSE(is_allowed_request("kick a\nstats"));
  CHECK_FALSE(is_allowed_request("stats"));
  CHECK_FALSE(is_allowed_request("trace"));
  CHECK_FALSE(is_allowed_request("kick " + std::string(65, 'x')));
}
