#pragma once
// Small helpers shared by the codec tests.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "codec/vector_file.hpp"
#include "gateway/core/codec.hpp"

namespace mqttsn::test {

using Octets = std::vector<std::uint8_t>;

inline Octets hex(const std::string& s) {
  return parse_hex(s);
}

inline Bytes bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// Encodes into a buffer of exactly encoded_size() octets (so ASan sees any overrun); REQUIREs success.
inline Octets encode_ok(const Message& m) {
  Octets out(encoded_size(m));
  const EncodeResult r = encode(m, out);
  REQUIRE_MESSAGE(r, "encode failed: ", to_string(r.error));
  REQUIRE(r.size == out.size());
  return out;
}

inline EncodeError encode_error(const Message& m) {
  Octets out(encoded_size(m) + 16);
  return encode(m, out).error;
}

// The reason decode() gives, or "ok". Copies the input into its own heap block first, so a read past
// its end is an ASan error rather than a silent read of the neighbouring test data.
inline std::string decode_reason(const Octets& in) {
  const Octets exact(in);
  const DecodeResult r = decode(exact);
  return r ? "ok" : to_string(r.error().kind);
}

}  // namespace mqttsn::test
