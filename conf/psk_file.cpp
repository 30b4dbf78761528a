#include "conf/psk_file.hpp"

#include "conf/text_file.hpp"

namespace mqttsn::conf {
namespace {

constexpr std::size_t kMaxIdentity = 128;  // RFC 4279 allows 65535; a node id needs far less
constexpr std::size_t kMaxKeyOctets = 64;  // OpenSSL's PSK_MAX_PSK_LEN is 512; 64 is plenty

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

PskFileResult parse_psk_file(std::string_view text, const std::string& file_name) {
  PskFileResult result;
  auto keys = std::make_shared<PskKeys>();
  std::map<std::string, int, std::less<>> first_line;
  for (const auto& [number, line] : content_lines(text)) {
    auto error = [&](std::string message) {
      result.errors.push_back({file_name, number, "", std::move(message)});
    };
    // The key has no ':', the identity may (e.g. "site:node"): split at the last one.
    const auto colon = line.rfind(':');
    if (colon == std::string_view::npos) {
      error("expected \"<identity>:<hex key>\", got " + in_quotes(line));
      continue;
    }
    const auto identity = trim(line.substr(0, colon));
    const auto hex = trim(line.substr(colon + 1));
    if (identity.empty() || identity.size() > kMaxIdentity ||
        identity.find_first_of(" \t") != std::string_view::npos) {
      error("expected an identity of 1 to " + std::to_string(kMaxIdentity) +
            " characters without blanks, got " + in_quotes(identity));
      continue;
    }
    std::vector<std::uint8_t> key;
    bool ok = !hex.empty() && hex.size() % 2 == 0 && hex.size() / 2 <= kMaxKeyOctets;
    for (std::size_t i = 0; ok && i < hex.size(); i += 2) {
      const int hi = hex_value(hex[i]), lo = hex_value(hex[i + 1]);
      if (hi < 0 || lo < 0) ok = false;
      key.push_back(static_cast<std::uint8_t>(hi * 16 + lo));
    }
    if (!ok) {
      error("key of " + in_quotes(identity) + ": expected an even number of hex digits, 2 to " +
            std::to_string(2 * kMaxKeyOctets));
      continue;
    }
    if (auto it = first_line.find(identity); it != first_line.end()) {
      error("identity " + in_quotes(identity) + " is already given a key on line " +
            std::to_string(it->second));
      continue;
    }
    first_line.emplace(std::string(identity), number);
    keys->emplace(std::string(identity), std::move(key));
  }
  if (result.errors.empty()) result.keys = std::move(keys);
  return result;
}

PskFileResult load_psk_file(const std::filesystem::path& file) {
  PskFileResult result;
  const auto text = read_text_file(file, file.string(), result.errors);
  if (!text) return result;
  return parse_psk_file(*text, file.string());
}

}  // namespace mqttsn::conf
