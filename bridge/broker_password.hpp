#pragma once
// Resolving the password of BridgeOptions, which may come from the environment (a file or an
// environment variable). The client id is not resolved here: it comes expanded from the
// configuration (conf/placeholders.hpp) and the bridge uses it as given.
#include <optional>
#include <string>

#include "bridge/bridge_options.hpp"

namespace mqttsn::bridge {

struct PasswordResult {
  std::optional<std::string> password;  // nullopt: none configured
  std::string error;                    // non-empty: configured but unreadable
};
// Precedence: password_file, then password_env, then the literal password.
PasswordResult resolve_password(const BridgeOptions& o);

}  // namespace mqttsn::bridge
