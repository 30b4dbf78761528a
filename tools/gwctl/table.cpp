#include "tools/gwctl/table.hpp"

#include <algorithm>
#include <string>
#include <vector>

namespace mqttsn::gwctl {
namespace {

std::string cell(const nlohmann::ordered_json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "-";
  if (v.is_array()) {
    std::string s;
    for (const auto& e : v) {
      if (!s.empty()) s += ",";
      s += cell(e);
    }
    return s.empty() ? "-" : s;
  }
  return v.dump();
}

}  // namespace

void print_table(std::ostream& out, const nlohmann::ordered_json& rows) {
  if (!rows.is_array() || rows.empty()) {
    out << "(none)\n";
    return;
  }
  // Columns in the order of the first row, then any key only later rows have.
  std::vector<std::string> cols;
  for (const auto& row : rows)
    if (row.is_object())
      for (const auto& [k, v] : row.items())
        if (std::find(cols.begin(), cols.end(), k) == cols.end()) cols.push_back(k);
  std::vector<std::vector<std::string>> cells;
  std::vector<std::size_t> width(cols.size());
  for (std::size_t i = 0; i < cols.size(); ++i) width[i] = cols[i].size();
  for (const auto& row : rows) {
    auto& r = cells.emplace_back();
    for (std::size_t i = 0; i < cols.size(); ++i) {
      r.push_back(row.is_object() && row.contains(cols[i]) ? cell(row[cols[i]]) : "-");
      width[i] = std::max(width[i], r.back().size());
    }
  }
  auto line = [&](const std::vector<std::string>& r) {
    for (std::size_t i = 0; i < r.size(); ++i) {
      out << r[i];
      if (i + 1 < r.size()) out << std::string(width[i] - r[i].size() + 2, ' ');
    }
    out << '\n';
  };
  std::vector<std::string> header;
  for (const auto& c : cols) {
    std::string h = c;
    std::transform(h.begin(), h.end(), h.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
    header.push_back(h);
  }
  line(header);
  for (const auto& r : cells) line(r);
}

void print_flat(std::ostream& out, const nlohmann::ordered_json& value, const std::string& prefix) {
  if (value.is_object()) {
    for (const auto& [k, v] : value.items()) print_flat(out, v, prefix.empty() ? k : prefix + "." + k);
    return;
  }
  if (value.is_array() && !value.empty() && value.front().is_object()) {
    out << prefix << ":\n";
    print_table(out, value);
    return;
  }
  out << prefix << "  " << cell(value) << '\n';
}

void print_reply(std::ostream& out, const nlohmann::ordered_json& reply) {
  if (reply.contains("metrics") && reply["metrics"].is_string()) {
    out << reply["metrics"].get<std::string>();
    return;
  }
  // A reply whose main content is one array of rows (clients, topics, subscriptions) is a table;
  // anything else is listed key by key.
  for (const char* key : {"clients", "topics", "subscriptions"}) {
    if (reply.contains(key) && reply[key].is_array()) {
      print_table(out, reply[key]);
      for (const auto& [k, v] : reply.items())
        if (k != key) print_flat(out, v, k);
      return;
    }
  }
  print_flat(out, reply);
}

}  // namespace mqttsn::gwctl
