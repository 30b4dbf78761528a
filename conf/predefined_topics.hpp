#pragma once
// Predefined topic ids (MQTT-SN 1.2 section 2.3: ids both sides know without REGISTER). Their own
// file, one per line:
//
//   # id, topic name [, client id]
//   1, sensors/temperature            <- for every client
//   0x0010, actuators/valve, valve-7  <- only for client "valve-7"
//
// Ids are decimal or 0x-hex from 1 to 0xFFFE (0x0000 and 0xFFFF are reserved). Fields are split at
// commas and trimmed, so a topic name cannot contain a comma. Within one scope (every client, or
// one client) an id and a topic name may appear only once; a client's own id may not reuse an id
// that is already predefined for every client, because the two meanings would be ambiguous.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "conf/error.hpp"

namespace mqttsn::conf {

struct PredefinedTopic {
  std::uint16_t id = 0;
  std::string topic;
  std::string client_id;  // empty: for every client
  int line = 0;
  friend bool operator==(const PredefinedTopic&, const PredefinedTopic&) = default;
};

struct PredefinedTopicsResult {
  std::vector<PredefinedTopic> topics;  // in file order, only the valid lines
  ConfigErrors errors;
  bool ok() const { return errors.empty(); }
};

PredefinedTopicsResult parse_predefined_topics(std::string_view text, const std::string& file_name);
PredefinedTopicsResult load_predefined_topics(const std::filesystem::path& file);

}  // namespace mqttsn::conf
