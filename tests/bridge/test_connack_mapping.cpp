// A per-node connection's refusal as the node hears it: MQTT 3.1.1 CONNACK codes and Paho errors to
// the three MQTT-SN 1.2 refusals, with the broker's reason kept for the log.
#include <doctest/doctest.h>

#include "bridge/connack_mapping.hpp"

using mqttsn::ReturnCode;
using mqttsn::bridge::map_connect_failure;

TEST_CASE("bad credentials, not authorised and a rejected client id are 'not supported'") {
  for (int code : {1, 2, 4, 5}) {
    CAPTURE(code);
    CHECK(map_connect_failure(code).code == ReturnCode::not_supported);
  }
  CHECK(map_connect_failure(4).reason.find("bad user name or password") != std::string::npos);
  CHECK(map_connect_failure(5).reason.find("not authorised") != std::string::npos);
}

TEST_CASE("server unavailable and an unreachable broker are congestion, so the node tries again") {
  CHECK(map_connect_failure(3).code == ReturnCode::congestion);
  CHECK(map_connect_failure(3).reason.find("server unavailable") != std::string::npos);
  CHECK(map_connect_failure(-1).code == ReturnCode::congestion);
  CHECK(map_connect_failure(0).code == ReturnCode::congestion);
}
