#pragma once
// One problem found in a configuration file. Every loader in conf/ collects all of them instead of
// stopping at the first, so an operator fixes a file in one pass. Rendered as
// `file:line: key: message`, the shape compilers use, so editors can jump to it.
#include <string>
#include <vector>

namespace mqttsn::conf {

struct ConfigError {
  std::string file;     // as given to the loader
  int line = 0;         // 1-based; 0 when the problem is not on one line (e.g. a missing table)
  std::string key;      // dotted key path ("upstream.keepalive"); empty for line-based files
  std::string message;  // what is wrong and what would be valid

  std::string to_string() const;
  friend bool operator==(const ConfigError&, const ConfigError&) = default;
};

using ConfigErrors = std::vector<ConfigError>;

// All errors, one per line, for logs and `--check-config`.
std::string to_string(const ConfigErrors& errors);

// `"text"` with control characters escaped: error messages quote what the operator wrote.
std::string in_quotes(std::string_view text);

}  // namespace mqttsn::conf
