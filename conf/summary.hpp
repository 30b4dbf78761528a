#pragma once
// A short human-readable account of a loaded configuration, for `mqttsn-gw --check-config`
// ("what it would run"). Secrets are never printed: only where a password would come from.
#include <string>

#include "conf/config.hpp"

namespace mqttsn::conf {

std::string describe_config(const GatewayConfig& config);

}  // namespace mqttsn::conf
