#pragma once
// Turns the configuration (conf/, plain data) into each component's own options. The components
// know nothing of the configuration file, and conf/ knows nothing of the components: this is the
// one place where the two meet.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bridge/bridge_options.hpp"
#include "bridge/per_node_upstream.hpp"
#include "conf/config.hpp"
#include "conf/predefined_topics.hpp"
#include "conf/reload.hpp"
#include "gateway/core/options.hpp"
#include "radio/link.hpp"

namespace mqttsn::app {

GatewayOptions core_options(const conf::GatewayConfig& config);
bridge::BridgeOptions bridge_options(const conf::GatewayConfig& config);
// Without the identity lookup, which the daemon supplies (it follows the reloaded credentials).
bridge::PerNodeOptions per_node_options(const conf::GatewayConfig& config);
PredefinedTopics core_predefined_topics(const std::vector<conf::PredefinedTopic>& topics);
std::unique_ptr<radio::Link> make_link(std::uint8_t index, const conf::LinkConfig& config,
                                       radio::LinkCallbacks callbacks);
// What --check-config adds to the configuration's own checks: every enabled DTLS link's certificate,
// key and CA opened and matched, as the link would at start. One line per link that would not start.
std::vector<std::string> check_link_credentials(const conf::GatewayConfig& config,
                                                const conf::ReloadableParts& parts);

}  // namespace mqttsn::app
