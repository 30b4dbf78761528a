#pragma once
// QoS between the two legs, in one place. A node speaks MQTT-SN QoS -1..2; the broker speaks MQTT
// 0..2, and may support less than 2 (RabbitMQ's MQTT plugin, AWS IoT Core and Azure IoT Hub stop at
// 1: they answer a QoS 2 PUBLISH with a PUBACK, which never completes a QoS 2 exchange).
//
// Publishes: QoS -1 goes up as `minus1_as`; then at least `floor` and at most `ceiling`. The ceiling
// wins over the floor: a broker cannot be asked for what it does not do.
// Subscriptions: asked for at most `ceiling`; the node is told what the broker granted.
#include "gateway/core/messages.hpp"

namespace mqttsn::bridge {

struct QosTranslation {
  int minus1_as = 0;  // [upstream] qos_minus1
  int floor = 0;      // [upstream] qos_floor
  int ceiling = 2;    // [upstream] max_qos

  // The MQTT QoS (0..2) a node's PUBLISH at MQTT-SN QoS `node_qos` (-1..2) goes up with.
  int publish(QoS node_qos) const;
  // The MQTT QoS (0..2) to ask the broker for when a node subscribes at `node_qos` (0..2).
  int subscribe(QoS node_qos) const;
};

}  // namespace mqttsn::bridge
