#pragma once
// Loads gateway.toml into a GatewayConfig. Every key has a default except a serial device; unknown
// keys, wrong types and bad values are reported with file, line, key and what would be valid, and
// all of them are collected. Relative paths resolve against the configuration file's directory.
// Placeholders (conf/placeholders.hpp) in the upstream client_id and presence_topic are expanded
// here, defaults included: the GatewayConfig holds the names the broker sees.
// The side files it names (admission list, ACL, predefined topics) are read by load_reloadable()
// (conf/reload.hpp), because those are also re-read on SIGHUP.
#include <filesystem>
#include <set>
#include <string>
#include <string_view>

#include "conf/config.hpp"
#include "conf/error.hpp"

namespace mqttsn::conf {

struct LoadResult {
  GatewayConfig config;  // defaults wherever the file had nothing (or something invalid)
  ConfigErrors errors;
  bool ok() const { return errors.empty(); }
};

LoadResult load_config(const std::filesystem::path& file);

// Parses configuration text; `file` names it in messages and its directory is the base for
// relative paths (it need not exist).
LoadResult parse_config(std::string_view text, const std::filesystem::path& file);
// The same with %h standing for `host_name` instead of this machine's name.
LoadResult parse_config(std::string_view text, const std::filesystem::path& file, std::string_view host_name);

// Every key the loader knows, as dotted paths; keys of [[link]] tables appear once per kind as
// "link.<kind>.<key>" (e.g. "link.xbee.baud"). Tests use it to keep conf/gateway.toml complete.
std::set<std::string> known_config_keys();

}  // namespace mqttsn::conf
