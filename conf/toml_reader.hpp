#pragma once
// Internal to the loader: reads one TOML table key by key with defaults, type and range checks,
// and reports every key it was not asked for as unknown. Every key looked up is also recorded in
// an optional schema set, which is how known_config_keys() lists the schema without a second copy.
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <toml++/toml.h>

#include "conf/duration.hpp"
#include "conf/error.hpp"

namespace mqttsn::conf::detail {

struct ReadContext {
  std::string file;                // for error messages
  std::filesystem::path base_dir;  // relative paths resolve here
  ConfigErrors* errors = nullptr;
  std::set<std::string>* schema = nullptr;  // when set, every key looked up is added
};

int line_of(const toml::node& node);

class TableReader {
 public:
  // `path` names the table in messages ("upstream.tls", "link[0]"); `schema_path` names it in the
  // schema ("upstream.tls", "link.xbee").
  TableReader(ReadContext& ctx, const toml::table& table, std::string path, std::string schema_path);

  const toml::table& table() const { return table_; }
  int line() const { return line_of(table_); }
  std::string key_path(std::string_view key) const;

  // Marks `key` as known; the node when present.
  const toml::node* find(std::string_view key);

  // Each reader leaves `out` (the default) unchanged when the key is absent or wrong; wrong values
  // are reported. They return true when a valid value was read.
  bool read(std::string_view key, bool& out);
  bool read(std::string_view key, std::string& out);
  bool read_uint(std::string_view key, std::uint64_t& out, std::uint64_t min, std::uint64_t max);
  template <class Int>
  bool read_uint(std::string_view key, Int& out, std::uint64_t min, std::uint64_t max) {
    std::uint64_t v = out;
    if (!read_uint(key, v, min, max)) return false;
    out = static_cast<Int>(v);
    return true;
  }
  // A byte count: an integer, or a string with a binary suffix ("512K", "4M", "1G"; K = 1024).
  bool read_size(std::string_view key, std::uint64_t& out, std::uint64_t min, std::uint64_t max);
  template <class Int>
  bool read_size(std::string_view key, Int& out, std::uint64_t min, std::uint64_t max) {
    std::uint64_t v = out;
    if (!read_size(key, v, min, max)) return false;
    out = static_cast<Int>(v);
    return true;
  }
  bool read_double(std::string_view key, double& out, double min, double max);
  bool read_duration(std::string_view key, Duration& out, Duration min, Duration max);
  bool read_path(std::string_view key, std::filesystem::path& out);
  bool read_string_list(std::string_view key, std::vector<std::string>& out);
  bool read_file_mode(std::string_view key, std::uint32_t& out);
  template <class E>
  bool read_enum(std::string_view key, E& out, std::initializer_list<std::pair<std::string_view, E>> names) {
    std::string text;
    const toml::node* node = find(key);
    if (!node || !read(key, text)) return false;
    for (const auto& [name, value] : names) {
      if (name == text) {
        out = value;
        return true;
      }
    }
    std::string valid;
    for (const auto& [name, value] : names) valid += (valid.empty() ? "" : ", ") + in_quotes(name);
    error(*node, key, "expected one of " + valid + ", got " + in_quotes(text));
    return false;
  }

  // A sub-table; an empty one when absent (so its defaults and schema are still walked).
  TableReader sub(std::string_view key);

  void error(const toml::node& at, std::string_view key, std::string message);
  void error_here(std::string_view key, std::string message);  // at the table's own line

  // Reports the keys of this table that nobody asked for.
  void finish();

 private:
  ReadContext& ctx_;
  const toml::table& table_;
  std::string path_;
  std::string schema_path_;
  std::vector<std::string> known_;
};

// "a string", "an integer", ...
std::string describe_type(const toml::node& node);

}  // namespace mqttsn::conf::detail
