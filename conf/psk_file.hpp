#pragma once
// The pre-shared keys of a DTLS link: one node per line, `identity:hexkey`, '#' starts a comment line.
//
//   sensor-17:6c3f0a9be1d24f8c7a5e0b1d9f3c2a44
//
// The identity is what the node sends in its handshake (and what `dtls:<identity>` pins in the
// admission list); the key is 1 to 64 octets in hex. Reloaded on SIGHUP with the admission list: a
// file with an error is rejected whole and the keys in force stay.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "conf/error.hpp"

namespace mqttsn::conf {

// identity -> key. Ordered, so two loads of the same file compare equal.
using PskKeys = std::map<std::string, std::vector<std::uint8_t>, std::less<>>;

struct PskFileResult {
  std::shared_ptr<const PskKeys> keys;  // set when there were no errors
  ConfigErrors errors;
};

PskFileResult parse_psk_file(std::string_view text, const std::string& file_name);
PskFileResult load_psk_file(const std::filesystem::path& file);

}  // namespace mqttsn::conf
