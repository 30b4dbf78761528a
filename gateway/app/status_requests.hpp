#pragma once
// The status socket's requests: `clients`, `topics [ID]`, `subscriptions`, `stats`, `metrics`,
// `store`, `version`, the operator's `node ID`, `kick ID`, `clear-buffer ID`, and `trace [FILTER]`
// (which the StatusServer itself serves). Each answer is one JSON document; a bad request gets
// {"error": "..."}.
#include <string>
#include <string_view>

namespace mqttsn::app {

class Daemon;

std::string answer_status(Daemon& daemon, std::string_view request);

}  // namespace mqttsn::app
