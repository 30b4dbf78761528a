#pragma once
// Small helpers for the simulator's tests: hex strings to bytes and back, so expectations read like
// the protocol tables and the vectors file.
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sim_test {

// "03 05 00" -> {0x03, 0x05, 0x00}; "'text'" inside the string inserts those ASCII octets.
inline std::vector<std::uint8_t> hex(std::string_view s) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i < s.size();) {
    if (s[i] == '\'') {
      auto end = s.find('\'', i + 1);
      for (std::size_t j = i + 1; j < end; ++j) out.push_back(static_cast<std::uint8_t>(s[j]));
      i = end + 1;
      continue;
    }
    if (std::isspace(static_cast<unsigned char>(s[i]))) {
      ++i;
      continue;
    }
    out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(s.substr(i, 2)), nullptr, 16)));
    i += 2;
  }
  return out;
}

inline std::string to_hex(std::span<const std::uint8_t> b) {
  std::string out;
  char buf[4];
  for (std::size_t i = 0; i < b.size(); ++i) {
    std::snprintf(buf, sizeof buf, i ? " %02X" : "%02X", b[i]);
    out += buf;
  }
  return out;
}

inline std::vector<std::uint8_t> text(std::string_view s) {
  return {s.begin(), s.end()};
}

}  // namespace sim_test
