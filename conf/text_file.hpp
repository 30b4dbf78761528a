#pragma once
// Reading the small text files conf/ deals with: bounded in size (a configuration file is never
// megabytes; a huge one is a mistake such as pointing at a device), and split into numbered lines.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "conf/error.hpp"

namespace mqttsn::conf {

inline constexpr std::size_t kMaxConfigFileBytes = 4 * 1024 * 1024;

// The file's contents, or nullopt after appending an error naming `display_name`.
std::optional<std::string> read_text_file(const std::filesystem::path& path, const std::string& display_name,
                                          ConfigErrors& errors);

struct NumberedLine {
  int number;             // 1-based
  std::string_view text;  // without the line end (\n or \r\n), leading/trailing blanks removed
};

// Lines with content: blank lines and lines whose first non-blank character is '#' are skipped.
std::vector<NumberedLine> content_lines(std::string_view text);

std::string_view trim(std::string_view s);

// A relative path resolved against `base_dir`; an absolute one unchanged.
std::filesystem::path resolve_path(const std::filesystem::path& base_dir, const std::filesystem::path& p);

}  // namespace mqttsn::conf
