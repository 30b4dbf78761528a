// The access policy on connect, publish, subscribe, with the protocol's rejection codes.
#include "harness.hpp"

using namespace mqttsn;
using namespace mqttsn::test;

TEST_CASE("a client id the policy refuses gets CONNACK not supported") {
  Harness h;
  h.policy.deny_connect = {"sensor1"};
  h.recv(1, "0D 04 04 01 00 3C 73 65 6E 73 6F 72 31");
  CHECK(h.take() == Events{"send " + addr(1) + " 03 05 03"});
  CHECK(h.gw.counter(Counter::denied_connect) == 1);
  CHECK(h.gw.clients().empty());
}

TEST_CASE("a denied publish gets PUBACK not supported (any QoS), QoS -1 is only counted") {
  Harness h;
  h.policy.deny_publish = {"secret", "ab"};
  h.connect(1, "c1");
  h.reg(1, "secret");
  h.recv(1, "08 0C 00 00 01 00 00 31");
  h.recv(1, "08 0C 20 00 01 00 05 31");
  h.recv(2, "08 0C 62 61 62 00 00 31");
  CHECK(h.take() ==
        Events{"send " + addr(1) + " 07 0D 00 01 00 00 03", "send " + addr(1) + " 07 0D 00 01 00 05 03"});
  CHECK(h.gw.counter(Counter::denied_publish) == 3);
}

TEST_CASE("a denied subscribe gets SUBACK not supported and no upstream call") {
  Harness h;
  h.policy.deny_subscribe = {"x/#"};
  h.connect(1, "c1");
  h.recv(1, "08 12 20 00 04 78 2F 23");
  CHECK(h.take() == Events{"send " + addr(1) + " 08 13 00 00 00 00 04 03"});
  CHECK(h.gw.counter(Counter::denied_subscribe) == 1);
}

TEST_CASE("a reloaded policy applies at once") {
  Harness h;
  h.connect(1, "c1");
  h.reg(1, "t");
  TestPolicy strict;
  strict.deny_publish = {"t"};
  h.gw.set_access_policy(strict);
  h.recv(1, "08 0C 00 00 01 00 00 31");
  CHECK(h.take() == Events{"send " + addr(1) + " 07 0D 00 01 00 00 03"});
  h.gw.set_access_policy(h.policy);
  h.recv(1, "08 0C 00 00 01 00 00 31");
  CHECK(h.take() == Events{"publish t q0 r0 31"});
}

TEST_CASE("per-client predefined ids shadow global ones for that client only") {
  Harness h;
  h.gw.set_predefined_topics({{5, "global/five", std::nullopt}, {5, "c1/five", std::string("c1")}});
  h.connect(1, "c1");
  h.connect(2, "c2");
  h.recv(1, "08 0C 01 00 05 00 00 31");
  h.recv(2, "08 0C 01 00 05 00 00 32");
  CHECK(h.take() == Events{"publish c1/five q0 r0 31", "publish global/five q0 r0 32"});
}
