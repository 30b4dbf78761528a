#pragma once
// The operator's requests, the same from the broker (<base>/request/<verb> with a JSON body, when
// [operations] requests is on) and from the status socket (mqttsn-gwctl kick ID, ...):
//   list                                   every node: id, availability, state, link, address
//   node {client_id}                       one node's description (as <base>/nodes/<id>)
//   kick {client_id}                       DISCONNECT the node (no will; a kept session stays)
//   clear_buffer {client_id}               drop what waits in its downlink buffer
//   add_predefined {topic_id, topic[, client_id]}, remove_predefined {topic_id[, client_id]}
//                                          until the next reload or restart (the file is the rule)
//   reload                                 what SIGHUP does, with the errors in the answer
// Every answer is a JSON object with "ok" (true, or false with "error").
#include <nlohmann/json.hpp>
#include <string_view>

namespace mqttsn::app {

class Daemon;

nlohmann::ordered_json run_operator_request(Daemon& daemon, std::string_view verb,
                                            const nlohmann::json& args);

}  // namespace mqttsn::app
