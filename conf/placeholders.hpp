#pragma once
// The one expander of the configuration's placeholders:
//   %h  the host name                  (upstream client_id and presence_topic)
//   %g  the gateway id, in decimal     (upstream client_id and presence_topic)
//   %c  the client id                  (ACL "pattern" lines; %u is the same, mosquitto's spelling)
//   %%  a percent sign
// A value is expanded exactly once, where it is read: the upstream names by the loader, ACL patterns
// per client by the ACL. A '%' that comes out of an expansion ("%%", or one inside a host name or
// client id) is never looked at again. Anything else after '%', a placeholder that does not apply
// where it is written, and a '%' at the end are configuration errors, reported with file and line.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mqttsn::conf {

// What the placeholders stand for where a value is expanded. A placeholder whose value is not set
// does not apply there.
struct PlaceholderValues {
  std::optional<std::string_view> host_name = std::nullopt;  // %h
  std::optional<std::uint8_t> gateway_id = std::nullopt;     // %g
  std::optional<std::string_view> client_id = std::nullopt;  // %c and %u
};

// Why `tmpl` is not a valid value where the placeholders set in `applicable` apply (their values
// are not looked at), or nullopt.
std::optional<std::string> placeholder_problem(std::string_view tmpl, const PlaceholderValues& applicable);

// `tmpl` with its placeholders replaced, in one pass. Meant for a template placeholder_problem()
// accepted; anything it would refuse is copied unchanged.
std::string expand_placeholders(std::string_view tmpl, const PlaceholderValues& values);

// Whether `tmpl` has a %c or %u (not counting "%%c"): its expansion depends on the client.
bool uses_client_id(std::string_view tmpl);

// This machine's host name (what %h stands for); "localhost" when it cannot be read.
std::string local_host_name();

}  // namespace mqttsn::conf
