#pragma once
// Placeholders in upstream names (client id, presence topic): %h is the host name, %g the gateway
// id (decimal), %% a percent sign. Anything else after '%' is a configuration error, found at load.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mqttsn::conf {

// Why the template is not valid, or nullopt.
std::optional<std::string> placeholder_problem(std::string_view tmpl);

// The template with its placeholders replaced (an invalid '%x' is copied unchanged).
std::string expand_placeholders(std::string_view tmpl, std::string_view host_name, std::uint8_t gateway_id);

}  // namespace mqttsn::conf
