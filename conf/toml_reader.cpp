#include "conf/toml_reader.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>

#include "conf/text_file.hpp"

namespace mqttsn::conf::detail {
namespace {

const toml::table& empty_table() {
  static const toml::table empty;
  return empty;
}

std::string got(const toml::node& node) {
  if (const auto* s = node.as_string()) return in_quotes(s->get());
  if (const auto* i = node.as_integer()) return std::to_string(i->get());
  if (const auto* b = node.as_boolean()) return b->get() ? "true" : "false";
  return describe_type(node);
}

}  // namespace

int line_of(const toml::node& node) {
  return static_cast<int>(node.source().begin.line);
}

std::string describe_type(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a floating-point number";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time:
      return "a date/time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

TableReader::TableReader(ReadContext& ctx, const toml::table& table, std::string path,
                         std::string schema_path)
    : ctx_(ctx), table_(table), path_(std::move(path)), schema_path_(std::move(schema_path)) {}

std::string TableReader::key_path(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

const toml::node* TableReader::find(std::string_view key) {
  if (std::find(known_.begin(), known_.end(), key) == known_.end()) known_.emplace_back(key);
  if (ctx_.schema)
    ctx_.schema->insert(schema_path_.empty() ? std::string(key) : schema_path_ + "." + std::string(key));
  return table_.get(key);
}

void TableReader::error(const toml::node& at, std::string_view key, std::string message) {
  ctx_.errors->push_back({ctx_.file, line_of(at), key_path(key), std::move(message)});
}

void TableReader::error_here(std::string_view key, std::string message) {
  ctx_.errors->push_back({ctx_.file, line(), key_path(key), std::move(message)});
}

bool TableReader::read(std::string_view key, bool& out) {
  const toml::node* node = find(key);
  if (!node) return false;
  if (const auto* b = node->as_boolean()) {
    out = b->get();
    return true;
  }
  error(*node, key, "expected true or false, got " + got(*node));
  return false;
}

bool TableReader::read(std::string_view key, std::string& out) {
  const toml::node* node = find(key);
  if (!node) return false;
  if (const auto* s = node->as_string()) {
    out = s->get();
    return true;
  }
  error(*node, key, "expected a string, got " + got(*node));
  return false;
}

bool TableReader::read_uint(std::string_view key, std::uint64_t& out, std::uint64_t min, std::uint64_t max) {
  const toml::node* node = find(key);
  if (!node) return false;
  const auto* i = node->as_integer();
  if (!i || i->get() < 0 || static_cast<std::uint64_t>(i->get()) < min ||
      static_cast<std::uint64_t>(i->get()) > max) {
    error(*node, key,
          "expected an integer from " + std::to_string(min) + " to " + std::to_string(max) + ", got " +
              got(*node));
    return false;
  }
  out = static_cast<std::uint64_t>(i->get());
  return true;
}

namespace {

std::optional<std::uint64_t> parse_size(std::string_view text) {
  std::uint64_t value = 0;
  std::size_t i = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    if (value > (std::numeric_limits<std::uint64_t>::max() - 9) / 10) return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(text[i] - '0');
  }
  if (i == 0) return std::nullopt;
  std::string_view suffix = text.substr(i);
  if (suffix == "B") suffix = {};
  if (suffix.ends_with("iB")) suffix.remove_suffix(2);
  unsigned shift = 0;
  if (suffix == "K" || suffix == "k")
    shift = 10;
  else if (suffix == "M")
    shift = 20;
  else if (suffix == "G")
    shift = 30;
  else if (!suffix.empty())
    return std::nullopt;
  if (value > (std::numeric_limits<std::uint64_t>::max() >> shift)) return std::nullopt;
  return value << shift;
}

}  // namespace

bool TableReader::read_size(std::string_view key, std::uint64_t& out, std::uint64_t min, std::uint64_t max) {
  const toml::node* node = find(key);
  if (!node) return false;
  std::optional<std::uint64_t> v;
  if (const auto* i = node->as_integer(); i && i->get() >= 0) v = static_cast<std::uint64_t>(i->get());
  if (const auto* s = node->as_string()) v = parse_size(s->get());
  if (!v || *v < min || *v > max) {
    error(*node, key,
          "expected a size in bytes from " + std::to_string(min) + " to " + std::to_string(max) +
              " (an integer, or a string such as \"512K\" or \"4M\"), got " + got(*node));
    return false;
  }
  out = *v;
  return true;
}

bool TableReader::read_double(std::string_view key, double& out, double min, double max) {
  const toml::node* node = find(key);
  if (!node) return false;
  double v = NAN;
  if (const auto* f = node->as_floating_point()) v = f->get();
  if (const auto* i = node->as_integer()) v = static_cast<double>(i->get());
  if (!(v >= min && v <= max)) {  // also catches NaN and wrong types
    char range[96];
    std::snprintf(range, sizeof range, "expected a number from %g to %g, got ", min, max);
    std::string shown = got(*node);
    if (node->is_floating_point()) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%g", node->as_floating_point()->get());
      shown = buf;
    }
    error(*node, key, range + shown);
    return false;
  }
  out = v;
  return true;
}

bool TableReader::read_duration(std::string_view key, Duration& out, Duration min, Duration max) {
  const toml::node* node = find(key);
  if (!node) return false;
  std::optional<Duration> d;
  if (const auto* s = node->as_string()) d = parse_duration(s->get());
  if (!d) {
    error(*node, key, "expected a duration such as \"30s\" or \"15m\", got " + got(*node));
    return false;
  }
  if (*d < min || *d > max) {
    error(*node, key,
          "expected a duration from " + format_duration(min) + " to " + format_duration(max) + ", got " +
              got(*node));
    return false;
  }
  out = *d;
  return true;
}

bool TableReader::read_path(std::string_view key, std::filesystem::path& out) {
  std::string text;
  const toml::node* node = find(key);
  if (!node || !read(key, text)) return false;
  if (text.empty()) {
    out.clear();  // explicitly "none"
    return true;
  }
  out = resolve_path(ctx_.base_dir, text);
  return true;
}

bool TableReader::read_string_list(std::string_view key, std::vector<std::string>& out) {
  const toml::node* node = find(key);
  if (!node) return false;
  const auto* array = node->as_array();
  if (!array) {
    error(*node, key, "expected an array of strings such as [\"tcp://localhost:1883\"], got " + got(*node));
    return false;
  }
  std::vector<std::string> values;
  bool ok = true;
  for (const auto& element : *array) {
    if (const auto* s = element.as_string()) {
      values.push_back(s->get());
    } else {
      error(element, key, "expected an array of strings, got an element that is " + describe_type(element));
      ok = false;
    }
  }
  if (ok) out = std::move(values);
  return ok;
}

bool TableReader::read_file_mode(std::string_view key, std::uint32_t& out) {
  const toml::node* node = find(key);
  if (!node) return false;
  // A string of octal digits ("0660"); a TOML integer only when written in octal (0o660), because
  // a decimal 660 is almost certainly a mistaken octal.
  std::optional<std::uint32_t> mode;
  if (const auto* s = node->as_string()) {
    const std::string& text = s->get();
    if (!text.empty() && text.size() <= 4 && text.find_first_not_of("01234567") == std::string::npos)
      mode = static_cast<std::uint32_t>(std::stoul(text, nullptr, 8));
  } else if (const auto* i = node->as_integer()) {
    if ((i->flags() & toml::value_flags::format_as_octal) != toml::value_flags::none && i->get() >= 0 &&
        i->get() <= 07777)
      mode = static_cast<std::uint32_t>(i->get());
  }
  if (!mode || *mode > 0777) {
    error(*node, key, "expected a file mode in octal such as \"0660\", got " + got(*node));
    return false;
  }
  out = *mode;
  return true;
}

TableReader TableReader::sub(std::string_view key) {
  const toml::node* node = find(key);
  std::string child_path = key_path(key);
  std::string child_schema = schema_path_.empty() ? std::string(key) : schema_path_ + "." + std::string(key);
  if (node && node->is_table()) return TableReader(ctx_, *node->as_table(), child_path, child_schema);
  if (node) error(*node, key, "expected a table ([" + child_path + "]), got " + describe_type(*node));
  return TableReader(ctx_, empty_table(), child_path, child_schema);
}

void TableReader::finish() {
  for (auto&& [key, value] : table_) {
    if (std::find(known_.begin(), known_.end(), key.str()) != known_.end()) continue;
    std::string valid;
    for (const auto& k : known_) valid += (valid.empty() ? "" : ", ") + k;
    ctx_.errors->push_back({ctx_.file,
                            static_cast<int>(key.source().begin.line)
                                ? static_cast<int>(key.source().begin.line)
                                : line_of(value),
                            key_path(key.str()), "unknown key; valid keys here: " + valid});
  }
}

}  // namespace mqttsn::conf::detail
