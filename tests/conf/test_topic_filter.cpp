// The ACL's own topic matcher (MQTT 3.1.1 section 4.7).
#include <doctest/doctest.h>

#include "conf/topic_filter.hpp"

using namespace mqttsn::conf;

TEST_CASE("topic filter: validity") {
  CHECK_FALSE(topic_filter_problem("a/+/b/#"));
  CHECK_FALSE(topic_filter_problem("#"));
  CHECK_FALSE(topic_filter_problem("/"));
  CHECK(topic_filter_problem("") == "a topic filter may not be empty");
  CHECK(topic_filter_problem("a/#/b") == "'#' must be the last level");
  CHECK(topic_filter_problem("a/b#") == "'#' must be a whole level");
  CHECK(topic_filter_problem("a+/b") == "'+' must be a whole level");
  CHECK(topic_name_problem("a/+") == "a topic name may not contain the wildcards '+' or '#'");
  CHECK_FALSE(topic_name_problem("a/b c/d"));
}

TEST_CASE("topic filter: matching names") {
  CHECK(topic_matches("a/b", "a/b"));
  CHECK_FALSE(topic_matches("a/b", "a/b/c"));
  CHECK(topic_matches("a/+", "a/b"));
  CHECK(topic_matches("a/+", "a/"));  // an empty level is a level
  CHECK_FALSE(topic_matches("a/+", "a/b/c"));
  CHECK(topic_matches("a/#", "a"));  // '#' includes the parent
  CHECK(topic_matches("a/#", "a/b/c"));
  CHECK(topic_matches("#", "x/y"));
  CHECK(topic_matches("+/+", "/x"));
  CHECK_FALSE(topic_matches("#", "$SYS/x"));  // '$' topics are not matched by a leading wildcard
  CHECK_FALSE(topic_matches("+/x", "$SYS/x"));
  CHECK(topic_matches("$SYS/#", "$SYS/x"));
}

TEST_CASE("topic filter: one filter covering another") {
  CHECK(filter_covers("a/#", "a/+/b"));
  CHECK(filter_covers("a/#", "a/#"));
  CHECK(filter_covers("a/#", "a"));
  CHECK(filter_covers("#", "a/#"));
  CHECK(filter_covers("a/+", "a/b"));
  CHECK(filter_covers("a/+", "a/+"));
  CHECK_FALSE(filter_covers("a/+", "a/#"));
  CHECK_FALSE(filter_covers("a/b", "a/+"));
  CHECK_FALSE(filter_covers("a/+/#", "a/#"));  // "a/#" matches "a", which "a/+/#" does not
  CHECK_FALSE(filter_covers("a/b", "a/b/c"));
  CHECK_FALSE(filter_covers("#", "$SYS/#"));
  CHECK(filter_covers("#", "+/x"));
}

TEST_CASE("topic filter: intersections") {
  CHECK(filters_intersect("a/+", "a/b"));
  CHECK(filters_intersect("a/#", "+/b/c"));
  CHECK(filters_intersect("a/b", "a/b/#"));
  CHECK(filters_intersect("#", "x"));
  CHECK_FALSE(filters_intersect("a/b", "a/c"));
  CHECK_FALSE(filters_intersect("a/+", "a/b/c"));
  CHECK_FALSE(filters_intersect("+/x", "$SYS/x"));
  CHECK_FALSE(filters_intersect("a/b", "a"));
}
