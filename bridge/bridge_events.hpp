#pragma once
// What the bridge tells its owner (the app, which forwards to the core). Every call is made on the
// libuv loop thread, never on a Paho thread.
#include <optional>
#include <string_view>

#include "bridge/upstream_status.hpp"
#include "gateway/core/messages.hpp"
#include "gateway/core/outputs.hpp"

namespace mqttsn::bridge {

class BridgeEvents {
 public:
  virtual ~BridgeEvents() = default;
  // A downlink message, topic already stripped of the mount point.
  virtual void on_message(std::string_view topic, Bytes payload, QoS qos, bool retain) = 0;
  // The result of a publish() that returned `pending`. ok=false only when the bridge gives up on the
  // message for good (shutdown, or a message the broker/Paho can never accept).
  virtual void on_publish_result(UpstreamToken token, bool ok) = 0;
  // The result of subscribe(): the granted QoS, or nullopt when the broker refused (SUBACK 0x80).
  virtual void on_suback(std::string_view filter, std::optional<QoS> granted) = 0;
  virtual void on_state(UpstreamState state) = 0;
};

}  // namespace mqttsn::bridge
