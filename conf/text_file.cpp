#include "conf/text_file.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

namespace mqttsn::conf {

std::optional<std::string> read_text_file(const std::filesystem::path& path, const std::string& display_name,
                                          ConfigErrors& errors) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    errors.push_back({display_name, 0, "", "cannot read: is a directory"});
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    errors.push_back({display_name, 0, "", std::string("cannot read: ") + std::strerror(errno)});
    return std::nullopt;
  }
  std::string text;
  char buf[8192];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxConfigFileBytes) {
      errors.push_back({display_name, 0, "", "too large (more than 4 MiB); is this the right file?"});
      return std::nullopt;
    }
  }
  return text;
}

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

std::vector<NumberedLine> content_lines(std::string_view text) {
  std::vector<NumberedLine> lines;
  int number = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    ++number;
    const auto line = trim(text.substr(start, end - start));
    if (!line.empty() && line[0] != '#') lines.push_back({number, line});
    start = end + 1;
  }
  return lines;
}

std::filesystem::path resolve_path(const std::filesystem::path& base_dir, const std::filesystem::path& p) {
  if (p.empty() || p.is_absolute()) return p;
  return (base_dir / p).lexically_normal();
}

}  // namespace mqttsn::conf
