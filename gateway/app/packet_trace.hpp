#pragma once
// One line of the status socket's live packet trace (`trace [FILTER]`): what the -vv log says about a
// packet, as a JSON document, for a browser or a script to follow without raising the log level.
#include <cstdint>
#include <string>
#include <string_view>

namespace mqttsn {
class Gateway;
struct LinkAddress;
}  // namespace mqttsn

namespace mqttsn::app {

class StatusServer;

struct TraceEvent {
  std::int64_t time_ms = 0;    // wall clock, ms since the epoch
  std::string_view direction;  // "in", "out", "out-broadcast"
  std::string_view link;       // the link's name in the configuration
  std::string_view address;
  std::string_view client_id;  // empty when no session is at that address
  std::string_view type;       // the message type, e.g. "PUBLISH"
  std::string_view summary;    // the rest of the packet's description
};

// Splits describe()'s text into the type name and the rest.
void split_description(std::string_view text, std::string_view& type, std::string_view& summary);

// A filter matches when it is empty or a substring of the client id, the type or the address.
bool trace_matches(std::string_view filter, const TraceEvent& e);

// The JSON line without its closing brace, so each connection can append its own drop count.
std::string trace_json_prefix(const TraceEvent& e);

// The daemon's hook: one packet (`direction` "rx", "tx" or "tx-broadcast", as in the -vv log, and
// describe()'s `text`) to the status socket's trace connections.
void trace_to_status(StatusServer& status, const Gateway& core, std::string_view direction,
                     std::string_view link, const LinkAddress& peer, std::string_view address,
                     std::string_view text);

}  // namespace mqttsn::app
