#pragma once
// The gateway's status socket, as mqttsn-gwctl asks it (one request line out, one JSON line back):
// here for the `store` reply's cumulative counters, read before and after a measuring window.
#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace mqttsn::bench {

// [status] socket of a gateway configuration file, read by the gateway's own loader (defaults and
// relative paths as the daemon sees them). Error text in `error` when the file does not load.
std::optional<std::string> status_socket_from_config(const std::string& config_file, std::string& error);

// Sends `request` and parses the reply; {"error": text} when the socket cannot be asked.
nlohmann::json ask_status(const std::string& socket_path, const std::string& request, double timeout_s = 2);

// The counters of the `store` reply that a window's delta is taken of: syncs and bytes_written (the
// store's files since start, when the gateway reports them: null otherwise), commits, rows_written,
// and the store's state. {"error": text} when the socket cannot be asked.
nlohmann::json store_counters(const std::string& socket_path);
// The gateway's heap in use (stats: memory.heap_in_use_bytes); nullopt when it cannot be read.
std::optional<std::uint64_t> heap_in_use(const std::string& socket_path);

// after - before for every counter both hold as a number; null for the others.
nlohmann::json counter_deltas(const nlohmann::json& before, const nlohmann::json& after);

}  // namespace mqttsn::bench
