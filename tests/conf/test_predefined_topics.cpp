// The predefined topics file: format and every validation error.
#include <doctest/doctest.h>

#include "conf/predefined_topics.hpp"

using namespace mqttsn::conf;

TEST_CASE("predefined topics: global and per-client ids, decimal and hex") {
  const auto r = parse_predefined_topics(R"(# id, topic[, client]
1, gateway/time
  0x0010 ,  actuators/valve 7/set , valve-7
2,a/b
16, other/topic, sensor1
)",
                                         "topics");
  REQUIRE_MESSAGE(r.ok(), to_string(r.errors));
  REQUIRE(r.topics.size() == 4);
  CHECK(r.topics[0] == PredefinedTopic{1, "gateway/time", "", 2});
  CHECK(r.topics[1] == PredefinedTopic{0x10, "actuators/valve 7/set", "valve-7", 3});
  CHECK(r.topics[2] == PredefinedTopic{2, "a/b", "", 4});
  CHECK(r.topics[3] == PredefinedTopic{16, "other/topic", "sensor1", 5});  // same id, another client
}

TEST_CASE("predefined topics: every error with its line") {
  const auto r = parse_predefined_topics(R"(1, a
1, b
2, sensors/+/t
3,
0, zero
0xFFFF, reserved
x12, bad
70000, big
4
5, a, b, c
6, a
7, c, node
7, d, node
1, e, node
8, f,
9, a/#
)",
                                         "topics");
  CHECK(r.topics.size() == 2);
  CHECK(
      to_string(r.errors) ==
      "topics:2: duplicate topic id 1 for every client (first on line 1)\n"
      "topics:3: a topic name may not contain the wildcards '+' or '#', got \"sensors/+/t\"\n"
      "topics:4: empty topic name\n"
      "topics:5: topic id 0 is reserved; use 1 to 65534\n"
      "topics:6: topic id 0xFFFF is reserved; use 1 to 65534\n"
      "topics:7: expected a topic id from 1 to 65534 (decimal or 0x hex), got \"x12\"\n"
      "topics:8: expected a topic id from 1 to 65534 (decimal or 0x hex), got \"70000\"\n"
      "topics:9: expected \"id, topic name[, client id]\"\n"
      "topics:10: expected \"id, topic name[, client id]\", got 4 fields (a topic name may not contain ',')\n"
      "topics:11: topic \"a\" already has id 1 for every client (line 1)\n"
      "topics:13: duplicate topic id 7 for client \"node\" (first on line 12)\n"
      "topics:14: topic id 1 is already predefined for every client (line 1)\n"
      "topics:15: empty client id (leave out the third field for every client)\n"
      "topics:16: a topic name may not contain the wildcards '+' or '#', got \"a/#\"\n");
}

TEST_CASE("predefined topics: a global id after a client's own id is ambiguous too") {
  const auto r = parse_predefined_topics("5, x, node\n5, y\n", "topics");
  CHECK(to_string(r.errors) == "topics:2: topic id 5 is already predefined for client \"node\" (line 1)\n");
}
