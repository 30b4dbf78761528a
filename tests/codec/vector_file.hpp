#pragma once
// Reader for tests/data/mqttsn-vectors.txt: `name | hex bytes | description [| invalid: reason - text]`.
#include <cstdint>
#include <string>
#include <vector>

namespace mqttsn::test {

struct Vector {
  std::string name;
  std::vector<std::uint8_t> bytes;
  std::string description;  // the canonical decode, without the " -- " note
  std::string reason;       // empty for a valid vector, else e.g. "truncated"
  bool valid() const { return reason.empty(); }
};

// All `sn_` vectors of the file (the xbee_/serial_ ones belong to the radio tests). Throws on a line
// it cannot parse, so a broken file fails loudly instead of silently testing less.
const std::vector<Vector>& sn_vectors();

std::vector<std::uint8_t> parse_hex(const std::string& hex);

}  // namespace mqttsn::test
