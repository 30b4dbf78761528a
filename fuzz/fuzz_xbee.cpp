// libFuzzer target for the XBee API decoder: arbitrary bytes, cut into arbitrary chunks, in both API
// modes. The first input byte chooses the chunk sizes; every frame that comes out is parsed and
// re-encoded, and must decode again to the same frame data.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "radio/xbee_frame.hpp"

using namespace mqttsn::radio::xbee;

namespace {

void roundtrip(std::span<const std::uint8_t> frame_data, ApiMode mode) {
  (void)parse_frame(frame_data);
  std::vector<std::uint8_t> wire(max_encoded_size(frame_data.size(), mode));
  const std::size_t n = encode_frame(frame_data, mode, wire);
  if (n == 0) std::abort();
  Decoder again(mode, frame_data.size());
  std::span<const std::uint8_t> in(wire.data(), n);
  const auto ev = again.next(in);
  if (ev.kind != Decoder::Event::Kind::frame || ev.frame_data.size() != frame_data.size() ||
      !std::equal(frame_data.begin(), frame_data.end(), ev.frame_data.begin()))
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t chunking = data[0];
  std::span<const std::uint8_t> input(data + 1, size - 1);
  for (ApiMode mode : {ApiMode::unescaped, ApiMode::escaped}) {
    Decoder d(mode, 64 + chunking);  // the bound varies too
    std::size_t pos = 0;
    std::size_t step = 1 + (chunking & 0x0F);
    while (pos < input.size()) {
      const std::size_t take = std::min(step, input.size() - pos);
      d.feed(
          input.subspan(pos, take),
          [&](std::span<const std::uint8_t> f) {
            if (f.size() > d.max_frame_data()) std::abort();
            roundtrip(f, mode);
          },
          [](DecodeError e) { (void)error_name(e); });
      pos += take;
      step = 1 + ((step * 7 + chunking) % 23);  // irregular chunk sizes
    }
    d.finish();
  }
  return 0;
}
