#pragma once
// A per-node connection's refusal as the node hears it. MQTT-SN 1.2 has three refusals only (0x01
// congestion, 0x02 invalid topic id, 0x03 not supported): "not supported" is the one a node gives up
// on, "congestion" the one it retries later.
#include <string>

#include "gateway/core/messages.hpp"

namespace mqttsn::bridge {

struct ConnackMapping {
  ReturnCode code = ReturnCode::congestion;
  std::string reason;  // the broker's own reason, for the log
};

// `code`: the MQTT 3.1.1 CONNACK return code (1..5) from Paho's connect failure, or a Paho error
// (negative, or 0 when no CONNACK came: the broker was not reached).
ConnackMapping map_connect_failure(int code);

}  // namespace mqttsn::bridge
