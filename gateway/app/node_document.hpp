#pragma once
// One node described in JSON, as the broker-side node topics publish it (<base>/nodes/<client id>)
// and the operator requests list it. Built from the core's status API only, so it says exactly what
// `mqttsn-gwctl clients` and `topics` say.
#include <chrono>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>

#include "gateway/core/gateway.hpp"

namespace mqttsn::app {

// The clocks a document needs: the core's monotonic time, and the wall clock it maps to.
struct DocumentClock {
  Millis mono{0};
  std::chrono::system_clock::time_point wall;
};

std::string iso_utc(std::chrono::system_clock::time_point t);

// The availability word of a node's state ("online", "asleep", "offline", "lost").
std::string availability_of(ClientState state);

// The node's session: link, address (and for XBee nodes the 64- and 16-bit addresses), state, last
// seen, keep-alive, topic mappings, subscriptions and counters.
nlohmann::ordered_json node_document(const Gateway& core, const ClientStatus& c,
                                     std::span<const std::string> link_names, const DocumentClock& clock);

// A node the gateway has no session for any more (a clean session that ended): what was last known.
nlohmann::ordered_json departed_node_document(std::string_view client_id, std::string_view availability,
                                              std::chrono::system_clock::time_point since);

}  // namespace mqttsn::app
