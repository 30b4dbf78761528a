#include "gateway/app/uplink_router.hpp"

namespace mqttsn::app {

void UplinkRouter::publish(const bridge::PublishRequest& request) {
  // The gateway's own publishes have no client id: always the shared connection's.
  if (per_node_ != nullptr && !request.client_id.empty() && own_(request.client_id))
    return per_node_->publish(request);
  shared_.publish(request);
}

}  // namespace mqttsn::app
