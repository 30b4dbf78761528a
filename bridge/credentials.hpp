#pragma once
// Resolving the parts of BridgeOptions that come from the environment: the client id pattern and
// the password (file or environment variable).
#include <optional>
#include <string>

#include "bridge/bridge_options.hpp"

namespace mqttsn::bridge {

// Replaces %h with the host name and %g with the gateway id ("%%" is a literal '%').
std::string expand_client_id(const std::string& pattern, const std::string& host_name,
                             const std::string& gateway_id);
std::string local_host_name();

struct PasswordResult {
  std::optional<std::string> password;  // nullopt: none configured
  std::string error;                    // non-empty: configured but unreadable
};
// Precedence: password_file, then password_env, then the literal password.
PasswordResult resolve_password(const BridgeOptions& o);

}  // namespace mqttsn::bridge
