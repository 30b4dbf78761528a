#include "conf/predefined_topics.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <utility>

#include "conf/text_file.hpp"
#include "conf/topic_filter.hpp"

namespace mqttsn::conf {
namespace {

std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  std::size_t start = 0;
  while (true) {
    const auto comma = line.find(',', start);
    fields.push_back(
        trim(line.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start)));
    if (comma == std::string_view::npos) return fields;
    start = comma + 1;
  }
}

std::optional<std::uint32_t> parse_id(std::string_view text) {
  int base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    base = 16;
    text.remove_prefix(2);
  }
  if (text.empty() || text.size() > 6) return std::nullopt;
  std::uint32_t value = 0;
  for (char c : text) {
    int digit = -1;
    if (c >= '0' && c <= '9') digit = c - '0';
    if (base == 16 && c >= 'a' && c <= 'f') digit = c - 'a' + 10;
    if (base == 16 && c >= 'A' && c <= 'F') digit = c - 'A' + 10;
    if (digit < 0) return std::nullopt;
    value = value * static_cast<std::uint32_t>(base) + static_cast<std::uint32_t>(digit);
  }
  return value;
}

std::string scope_name(const std::string& client_id) {
  return client_id.empty() ? "every client" : "client " + in_quotes(client_id);
}

}  // namespace

PredefinedTopicsResult parse_predefined_topics(std::string_view text, const std::string& file_name) {
  PredefinedTopicsResult result;
  auto error = [&](int line, std::string message) {
    result.errors.push_back({file_name, line, "", std::move(message)});
  };
  // (scope, id) -> line, (scope, topic) -> (id, line); scope "" is every client.
  std::map<std::pair<std::string, std::uint16_t>, int> id_lines;
  std::map<std::pair<std::string, std::string>, std::pair<std::uint16_t, int>> topic_ids;

  for (const auto& [number, line] : content_lines(text)) {
    const auto fields = split_fields(line);
    if (fields.size() < 2 || fields.size() > 3) {
      error(number, fields.size() < 2
                        ? "expected \"id, topic name[, client id]\""
                        : "expected \"id, topic name[, client id]\", got " + std::to_string(fields.size()) +
                              " fields (a topic name may not contain ',')");
      continue;
    }
    const auto id = parse_id(fields[0]);
    if (!id || *id > 0xFFFF) {
      error(number, "expected a topic id from 1 to 65534 (decimal or 0x hex), got " + in_quotes(fields[0]));
      continue;
    }
    if (*id == 0x0000 || *id == 0xFFFF) {
      error(number, "topic id " + std::string(fields[0]) + " is reserved; use 1 to 65534");
      continue;
    }
    PredefinedTopic topic{static_cast<std::uint16_t>(*id), std::string(fields[1]),
                          fields.size() == 3 ? std::string(fields[2]) : std::string(), number};
    if (topic.topic.empty()) {
      error(number, "empty topic name");
      continue;
    }
    if (auto problem = topic_name_problem(topic.topic)) {
      error(number, *problem + ", got " + in_quotes(topic.topic));
      continue;
    }
    if (fields.size() == 3 && topic.client_id.empty()) {
      error(number, "empty client id (leave out the third field for every client)");
      continue;
    }
    const auto id_text = std::to_string(topic.id);
    if (auto it = id_lines.find({topic.client_id, topic.id}); it != id_lines.end()) {
      error(number, "duplicate topic id " + id_text + " for " + scope_name(topic.client_id) +
                        " (first on line " + std::to_string(it->second) + ")");
      continue;
    }
    if (!topic.client_id.empty()) {
      if (auto it = id_lines.find({"", topic.id}); it != id_lines.end()) {
        error(number, "topic id " + id_text + " is already predefined for every client (line " +
                          std::to_string(it->second) + ")");
        continue;
      }
    }
    if (auto it = topic_ids.find({topic.client_id, topic.topic}); it != topic_ids.end()) {
      error(number, "topic " + in_quotes(topic.topic) + " already has id " +
                        std::to_string(it->second.first) + " for " + scope_name(topic.client_id) + " (line " +
                        std::to_string(it->second.second) + ")");
      continue;
    }
    id_lines[{topic.client_id, topic.id}] = number;
    topic_ids[{topic.client_id, topic.topic}] = {topic.id, number};
    result.topics.push_back(std::move(topic));
  }
  // A global id defined after a client-specific one with the same number is just as ambiguous.
  for (const auto& t : result.topics) {
    if (t.client_id.empty()) continue;
    if (auto it = id_lines.find({"", t.id}); it != id_lines.end() && it->second > t.line)
      error(it->second, "topic id " + std::to_string(t.id) + " is already predefined for client " +
                            in_quotes(t.client_id) + " (line " + std::to_string(t.line) + ")");
  }
  std::stable_sort(result.errors.begin(), result.errors.end(),
                   [](const ConfigError& a, const ConfigError& b) { return a.line < b.line; });
  return result;
}

PredefinedTopicsResult load_predefined_topics(const std::filesystem::path& file) {
  PredefinedTopicsResult result;
  const auto text = read_text_file(file, file.string(), result.errors);
  if (!text) return result;
  return parse_predefined_topics(*text, file.string());
}

}  // namespace mqttsn::conf
