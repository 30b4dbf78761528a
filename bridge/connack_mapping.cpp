#include "bridge/connack_mapping.hpp"

namespace mqttsn::bridge {

ConnackMapping map_connect_failure(int code) {
  switch (code) {
    case 1:
      return {ReturnCode::not_supported, "CONNACK 1: unacceptable protocol version"};
    case 2:
      return {ReturnCode::not_supported, "CONNACK 2: client identifier rejected"};
    case 3:
      return {ReturnCode::congestion, "CONNACK 3: server unavailable"};
    case 4:
      return {ReturnCode::not_supported, "CONNACK 4: bad user name or password"};
    case 5:
      return {ReturnCode::not_supported, "CONNACK 5: not authorised"};
    default:
      // Unreachable, timed out, TLS: nothing the node did wrong, so it may try again.
      return {ReturnCode::congestion, "broker not reached (Paho " + std::to_string(code) + ")"};
  }
}

}  // namespace mqttsn::bridge
