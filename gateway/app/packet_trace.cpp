#include "gateway/app/packet_trace.hpp"

#include <chrono>

#include <nlohmann/json.hpp>

#include "gateway/app/status_server.hpp"
#include "gateway/core/gateway.hpp"

namespace mqttsn::app {

void split_description(std::string_view text, std::string_view& type, std::string_view& summary) {
  const auto space = text.find(' ');
  type = text.substr(0, space);
  summary = space == std::string_view::npos ? std::string_view{} : text.substr(space + 1);
}

bool trace_matches(std::string_view filter, const TraceEvent& e) {
  if (filter.empty()) return true;
  return e.client_id.find(filter) != std::string_view::npos ||
         e.type.find(filter) != std::string_view::npos || e.address.find(filter) != std::string_view::npos;
}

std::string trace_json_prefix(const TraceEvent& e) {
  const nlohmann::ordered_json j = {{"time_ms", e.time_ms}, {"dir", e.direction},       {"link", e.link},
                                    {"address", e.address}, {"client_id", e.client_id}, {"type", e.type},
                                    {"summary", e.summary}};
  // Client ids and payloads come from radios: a stray byte must not break the JSON.
  std::string text = j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  text.pop_back();  // the closing brace: the connection appends its "dropped" count
  return text;
}

void trace_to_status(StatusServer& status, const Gateway& core, std::string_view direction,
                     std::string_view link, const LinkAddress& peer, std::string_view address,
                     std::string_view text) {
  TraceEvent e;
  e.time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  e.direction = direction == "rx" ? "in" : direction == "tx" ? "out" : "out-broadcast";
  e.link = link;
  e.address = address;
  e.client_id = core.client_id_at(peer);
  split_description(text, e.type, e.summary);
  status.trace(e);
}

}  // namespace mqttsn::app
