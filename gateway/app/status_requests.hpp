#pragma once
// The status socket's requests: `clients`, `topics [ID]`, `subscriptions`, `stats`, `metrics`,
// `store`, `version`, the operator's `node ID`, `kick ID`, `clear-buffer ID`, and `trace [FILTER]`
// (which the StatusServer itself serves). Each answer is one JSON document; a bad request gets
// {"error": "..."}.
#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace mqttsn::app {

class Daemon;

std::string answer_status(Daemon& daemon, std::string_view request);

// One link as `stats` and the broker-side gateway description show it: name, kind, up, max payload
// and what its hardware says of itself (without the counters).
nlohmann::ordered_json link_description(const Daemon& daemon, std::size_t index);

}  // namespace mqttsn::app
