#include "conf/topic_filter.hpp"

#include <vector>

namespace mqttsn::conf {
namespace {

std::vector<std::string_view> split_levels(std::string_view s) {
  std::vector<std::string_view> levels;
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = s.find('/', start);
    if (slash == std::string_view::npos) {
      levels.push_back(s.substr(start));
      return levels;
    }
    levels.push_back(s.substr(start, slash - start));
    start = slash + 1;
  }
}

bool is_wildcard(std::string_view level) {
  return level == "+" || level == "#";
}

// A first-level wildcard never matches a '$' level.
bool wildcard_blocked(std::size_t index, std::string_view other_level) {
  return index == 0 && !other_level.empty() && other_level[0] == '$';
}

}  // namespace

std::optional<std::string> topic_filter_problem(std::string_view filter) {
  if (filter.empty()) return "a topic filter may not be empty";
  if (filter.size() > 65535) return "a topic filter may not be longer than 65535 bytes";
  if (filter.find('\0') != std::string_view::npos) return "a topic filter may not contain NUL";
  const auto levels = split_levels(filter);
  for (std::size_t i = 0; i < levels.size(); ++i) {
    const auto level = levels[i];
    if (level.find('#') != std::string_view::npos) {
      if (level != "#") return "'#' must be a whole level";
      if (i + 1 != levels.size()) return "'#' must be the last level";
    }
    if (level.find('+') != std::string_view::npos && level != "+") return "'+' must be a whole level";
  }
  return std::nullopt;
}

std::optional<std::string> topic_name_problem(std::string_view name) {
  if (name.empty()) return "a topic name may not be empty";
  if (name.size() > 65535) return "a topic name may not be longer than 65535 bytes";
  if (name.find('\0') != std::string_view::npos) return "a topic name may not contain NUL";
  if (name.find_first_of("+#") != std::string_view::npos)
    return "a topic name may not contain the wildcards '+' or '#'";
  return std::nullopt;
}

bool topic_matches(std::string_view filter, std::string_view topic) {
  const auto f = split_levels(filter);
  const auto t = split_levels(topic);
  for (std::size_t i = 0; i < f.size(); ++i) {
    if (f[i] == "#") return !(i == 0 && wildcard_blocked(0, t[0]));  // "a/#" also matches "a"
    if (i >= t.size()) return false;
    if (f[i] == "+") {
      if (wildcard_blocked(i, t[i])) return false;
      continue;
    }
    if (f[i] != t[i]) return false;
  }
  return f.size() == t.size();
}

bool filter_covers(std::string_view outer, std::string_view inner) {
  const auto o = split_levels(outer);
  const auto n = split_levels(inner);
  for (std::size_t i = 0; i < o.size(); ++i) {
    if (o[i] == "#") return i >= n.size() || !wildcard_blocked(i, n[i]);
    if (i >= n.size()) return false;
    if (n[i] == "#") return false;  // only '#' covers '#'
    if (o[i] == "+") {
      if (wildcard_blocked(i, n[i])) return false;
      continue;
    }
    if (n[i] == "+" || o[i] != n[i]) return false;  // a literal covers only the same literal
  }
  return o.size() == n.size();
}

bool filters_intersect(std::string_view a, std::string_view b) {
  const auto x = split_levels(a);
  const auto y = split_levels(b);
  const std::size_t common = std::min(x.size(), y.size());
  for (std::size_t i = 0; i < common; ++i) {
    const bool xw = is_wildcard(x[i]), yw = is_wildcard(y[i]);
    if (xw && yw) {
      if (x[i] == "#" || y[i] == "#") return true;
      continue;
    }
    if (xw || yw) {
      const auto literal = xw ? y[i] : x[i];
      if (wildcard_blocked(i, literal)) return false;
      if ((xw ? x[i] : y[i]) == "#") return true;
      continue;
    }
    if (x[i] != y[i]) return false;
  }
  if (x.size() == y.size()) return true;
  // One is longer: only a trailing "#" (which also matches its parent) can still meet the other.
  const auto& longer = x.size() > y.size() ? x : y;
  return longer.size() == common + 1 && longer[common] == "#";
}

}  // namespace mqttsn::conf
