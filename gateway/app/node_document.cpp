#include "gateway/app/node_document.hpp"

#include <ctime>

#include "gateway/core/describe.hpp"

namespace mqttsn::app {

using json = nlohmann::ordered_json;

std::string iso_utc(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string availability_of(ClientState state) {
  const auto p = presence_of(state);
  return p ? to_string(*p) : "online";  // a CONNECT under way: the node is there
}

json node_document(const Gateway& core, const ClientStatus& c, std::span<const std::string> link_names,
                   const DocumentClock& clock) {
  json link = {{"name", c.address.link < link_names.size() ? link_names[c.address.link] : "?"},
               {"address", c.address.to_string()}};
  if (c.address.kind == AddressKind::xbee) {
    link["xbee64"] = hex(c.address.xbee64(), 16);
    link["xbee16"] = hex(c.address.xbee16, 4);
  }
  if (c.forwarded) link["forwarder_node_id"] = hex(c.node_id);

  json topics = json::array();
  for (const auto& t : core.topic_mappings_of(c.client_id))
    topics.push_back({{"id", t.topic_id}, {"topic", t.topic}, {"kind", to_string(t.kind)}});
  json subscriptions = json::array();
  for (const auto& [filter, qos] : core.subscriptions_of(c.client_id))
    subscriptions.push_back({{"filter", filter}, {"qos", qos}});

  const auto seen_ago = clock.mono - c.last_seen;
  json doc = {
      {"client_id", c.client_id},
      {"availability", availability_of(c.state)},
      {"state", to_string(c.state)},
      {"link", link},
      {"last_seen", iso_utc(clock.wall - std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                             seen_ago < Millis{0} ? Millis{0} : seen_ago))},
      {"keep_alive_s", c.keep_alive_s},
      {"sleep_s", c.sleep_s},
      {"clean_session", c.clean_session},
      {"kept", c.kept},
      {"will", c.has_will},
      {"topics", topics},
      {"subscriptions", subscriptions},
      {"counters",
       {{"msgs_up", c.msgs_up},
        {"msgs_down", c.msgs_down},
        {"in_flight", c.in_flight},
        {"buffered", c.buffered},
        {"buffered_bytes", c.buffered_bytes},
        {"refused", c.buffer_refused},
        {"buffer_full", c.buffer_full}}}};
  return doc;
}

json departed_node_document(std::string_view client_id, std::string_view availability,
                            std::chrono::system_clock::time_point since) {
  return {{"client_id", client_id},
          {"availability", availability},
          {"session", false},
          {"since", iso_utc(since)}};
}

}  // namespace mqttsn::app
