#include "bridge/qos_translation.hpp"

#include <algorithm>

namespace mqttsn::bridge {

namespace {
int clamp_mqtt(int q) {
  return std::clamp(q, 0, 2);
}
}  // namespace

int QosTranslation::publish(QoS node_qos) const {
  int q = node_qos < 0 ? clamp_mqtt(minus1_as) : clamp_mqtt(node_qos);
  q = std::max(q, clamp_mqtt(floor));
  return std::min(q, clamp_mqtt(ceiling));
}

int QosTranslation::subscribe(QoS node_qos) const {
  return std::min(clamp_mqtt(node_qos), clamp_mqtt(ceiling));
}

}  // namespace mqttsn::bridge
