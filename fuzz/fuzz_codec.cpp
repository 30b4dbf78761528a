// libFuzzer target for the MQTT-SN codec. For arbitrary octets, decode() must return (never crash,
// never read out of bounds). Whatever it accepts must re-encode, decode again to an equivalent
// message, and re-encode to the same octets (the encoder's output is canonical). An Encapsulated
// message's inner message gets the same treatment.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "gateway/core/codec.hpp"
#include "gateway/core/codec_compare.hpp"

namespace {

using namespace mqttsn;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_codec: %s\n", what);
  std::abort();
}

void check_round_trip(const Message& m) {
  const std::size_t size = encoded_size(m);
  std::vector<std::uint8_t> out(size);
  const EncodeResult r = encode(m, out);
  if (!r) fail("a decoded message does not encode");
  if (r.size != size) fail("encode() and encoded_size() disagree");
  if (size > 0) {
    std::vector<std::uint8_t> small(size - 1);
    if (encode(m, small).error != EncodeError::buffer_too_small)
      fail("one octet short is not buffer_too_small");
  }
  const DecodeResult again = decode(out);
  if (!again) fail("the encoder's output does not decode");
  if (!equivalent(again.message(), m)) fail("decode(encode(m)) differs from m");
  std::vector<std::uint8_t> out2(encoded_size(again.message()));
  if (!encode(again.message(), out2) || out2 != out) fail("re-encoding is not canonical");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const DecodeResult r = decode(std::span<const std::uint8_t>(data, size));
  if (!r) {
    if (to_string(r.error().kind) == nullptr || r.error().detail == nullptr) fail("error without a name");
    if (r.error().offset > size) fail("error offset past the input");
    return 0;
  }
  check_round_trip(r.message());
  if (const auto* e = std::get_if<Encapsulated>(&r.message())) {
    const DecodeResult inner = decode(e->inner);
    if (inner) {
      if (std::holds_alternative<Encapsulated>(inner.message())) fail("nested encapsulation accepted");
      check_round_trip(inner.message());
    }
  }
  return 0;
}
