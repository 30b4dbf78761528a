// The bridge's pure parts: queue order and bounds, mount point, password sources.
#include <doctest/doctest.h>

#include <cstdlib>

#include "bridge/broker_password.hpp"
#include "bridge/outbound_queue.hpp"
#include "bridge/topic_mount.hpp"
#include "support/temp_dir.hpp"

using namespace mqttsn::bridge;

namespace {
OutboundMessage msg(std::uint64_t seq, std::size_t payload_size = 1) {
  OutboundMessage m;
  m.seq = seq;
  m.topic = "t";
  m.payload.assign(payload_size, 'x');
  return m;
}
}  // namespace

TEST_CASE("outbound queue refuses beyond its message bound and its byte bound") {
  OutboundQueue q(3, 1000);
  CHECK(q.push_back(msg(1)));
  CHECK(q.push_back(msg(2)));
  CHECK(q.push_back(msg(3)));
  CHECK_FALSE(q.push_back(msg(4)));
  CHECK(q.size() == 3);
  CHECK(q.bytes() == 6);

  OutboundQueue b(100, 25);
  CHECK(b.push_back(msg(1, 10)));  // 11 bytes
  CHECK(b.push_back(msg(2, 10)));  // 22
  CHECK_FALSE(b.push_back(msg(3, 10)));
  CHECK(b.push_back(msg(4, 2)));  // 25 fits exactly
}

TEST_CASE("messages taken back from flight go back in send order, ahead of newer ones") {
  OutboundQueue q(2, 1000);
  CHECK(q.push_back(msg(5)));
  CHECK(q.push_back(msg(6)));
  // In flight were 2, 3 and 4; they come back in any order and even over the bounds.
  q.requeue(msg(3));
  q.requeue(msg(4));
  q.requeue(msg(2));
  REQUIRE(q.size() == 5);
  for (std::uint64_t expect = 2; expect <= 6; ++expect) CHECK(q.pop_front().seq == expect);
  CHECK(q.empty());
  CHECK(q.bytes() == 0);
}

TEST_CASE("mount point is prepended uplink and stripped downlink") {
  TopicMount m("site7/");
  CHECK(m.upstream("a/b") == "site7/a/b");
  CHECK(m.upstream("#") == "site7/#");
  REQUIRE(m.downstream("site7/a/b"));
  CHECK(*m.downstream("site7/a/b") == "a/b");
  CHECK_FALSE(m.downstream("site8/a/b"));
  CHECK_FALSE(m.downstream("site7/"));
  CHECK_FALSE(m.downstream("site"));

  TopicMount none;
  CHECK(none.upstream("a") == "a");
  CHECK(*none.downstream("x/y") == "x/y");
}

TEST_CASE("password comes from a file, else an environment variable, else the literal") {
  mqttsn::test::TempDir dir;
  BridgeOptions o;
  o.password_file = dir.write("pw", "s3cret\n");
  o.password_env = "MQTTSN_BRIDGE_TEST_PW";
  o.password = "literal";
  CHECK(resolve_password(o).password == "s3cret");

  o.password_file.clear();
  setenv("MQTTSN_BRIDGE_TEST_PW", "from-env", 1);
  CHECK(resolve_password(o).password == "from-env");
  unsetenv("MQTTSN_BRIDGE_TEST_PW");
  auto r = resolve_password(o);
  CHECK_FALSE(r.password);
  CHECK(r.error.find("MQTTSN_BRIDGE_TEST_PW") != std::string::npos);

  o.password_env.clear();
  CHECK(resolve_password(o).password == "literal");

  o.password_file = dir.file("missing");
  CHECK_FALSE(resolve_password(o).error.empty());
}
