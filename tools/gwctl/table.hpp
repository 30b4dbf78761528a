#pragma once
// Renders the status socket's JSON replies for people: arrays of objects as aligned tables, nested
// objects as dotted "key  value" lines. Generic on purpose, so a new field in the daemon shows up
// here without a change.
#include <nlohmann/json.hpp>
#include <ostream>

namespace mqttsn::gwctl {

void print_table(std::ostream& out, const nlohmann::ordered_json& rows);
void print_flat(std::ostream& out, const nlohmann::ordered_json& value, const std::string& prefix = "");
void print_reply(std::ostream& out, const nlohmann::ordered_json& reply);

}  // namespace mqttsn::gwctl
