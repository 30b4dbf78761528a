#include "gateway/app/operator_requests.hpp"

#include <uv.h>

#include <chrono>

#include "gateway/app/daemon.hpp"
#include "gateway/app/node_document.hpp"

namespace mqttsn::app {
namespace {

using json = nlohmann::ordered_json;

json failure(std::string text) {
  return {{"ok", false}, {"error", std::move(text)}};
}

std::optional<std::string> string_arg(const nlohmann::json& args, const char* key) {
  if (!args.is_object()) return std::nullopt;
  const auto it = args.find(key);
  if (it == args.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

std::optional<std::uint16_t> topic_id_arg(const nlohmann::json& args) {
  if (!args.is_object()) return std::nullopt;
  const auto it = args.find("topic_id");
  if (it == args.end() || !it->is_number_integer()) return std::nullopt;
  const auto v = it->get<std::int64_t>();
  if (v < 1 || v > 0xFFFE) return std::nullopt;
  return static_cast<std::uint16_t>(v);
}

DocumentClock clock_now() {
  return {Millis(static_cast<std::int64_t>(uv_hrtime() / 1'000'000)), std::chrono::system_clock::now()};
}

json list(const Daemon& d) {
  json nodes = json::array();
  const DocumentClock clock = clock_now();
  for (const auto& c : d.core().clients()) {
    const auto seen = (clock.mono - c.last_seen).count() / 1000;
    nodes.push_back({{"client_id", c.client_id},
                     {"availability", availability_of(c.state)},
                     {"state", to_string(c.state)},
                     {"link", d.link_name(c.address.link)},
                     {"address", c.address.to_string()},
                     {"last_seen_s", seen < 0 ? 0 : seen},
                     {"buffered", c.buffered}});
  }
  return {{"ok", true}, {"nodes", nodes}};
}

}  // namespace

json run_operator_request(Daemon& d, std::string_view verb, const nlohmann::json& args) {
  if (verb == "list") return list(d);
  if (verb == "reload") {
    const auto outcome = d.reload();
    if (!outcome.ok) return failure("reload failed; the rules in force are kept: " + outcome.errors);
    return {{"ok", true}, {"restart_needed", outcome.restart_needed}};
  }
  if (verb == "node" || verb == "kick" || verb == "clear_buffer") {
    const auto id = string_arg(args, "client_id");
    if (!id) return failure(std::string(verb) + " needs {\"client_id\": \"...\"}");
    if (verb == "node") {
      const auto c = d.core().client(*id);
      if (!c) return failure("no session for client id '" + *id + "'");
      return {{"ok", true}, {"node", node_document(d.core(), *c, d.link_names(), clock_now())}};
    }
    if (verb == "kick") {
      if (!d.disconnect_client(*id))
        return failure("no connected or sleeping node with client id '" + *id + "'");
      return {{"ok", true}, {"client_id", *id}};
    }
    const auto dropped = d.clear_buffer(*id);
    if (!dropped) return failure("no session for client id '" + *id + "'");
    return {{"ok", true}, {"client_id", *id}, {"dropped", *dropped}};
  }
  if (verb == "add_predefined" || verb == "remove_predefined") {
    const auto topic_id = topic_id_arg(args);
    if (!topic_id) return failure(std::string(verb) + " needs {\"topic_id\": 1..65534, ...}");
    const std::string client = string_arg(args, "client_id").value_or("");
    if (verb == "add_predefined") {
      const auto topic = string_arg(args, "topic");
      if (!topic) return failure("add_predefined needs {\"topic_id\": N, \"topic\": \"...\"}");
      if (auto problem = d.add_predefined(*topic_id, *topic, client)) return failure(*problem);
    } else if (!d.remove_predefined(*topic_id, client)) {
      return failure("no predefined topic id " + std::to_string(*topic_id) +
                     (client.empty() ? " for every client" : " for client '" + client + "'"));
    }
    return {{"ok", true}, {"topic_id", *topic_id}, {"until", "the next reload or restart"}};
  }
  return failure("unknown request '" + std::string(verb) +
                 "'; requests: list, node, kick, clear_buffer, add_predefined, remove_predefined, reload");
}

}  // namespace mqttsn::app
