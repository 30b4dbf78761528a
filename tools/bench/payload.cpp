#include "tools/bench/payload.hpp"

#include <time.h>

namespace mqttsn::bench {
namespace {

void put_le(std::uint8_t* p, std::uint64_t v, int octets) {
  for (int i = 0; i < octets; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

std::uint64_t get_le(const std::uint8_t* p, int octets) {
  std::uint64_t v = 0;
  for (int i = 0; i < octets; ++i) v |= static_cast<std::uint64_t>(p[i]) << (8 * i);
  return v;
}

}  // namespace

bool encode_payload(const PayloadHeader& h, std::span<std::uint8_t> out) {
  if (out.size() < kMinPayload) return false;
  put_le(out.data(), h.client, 4);
  put_le(out.data() + 4, h.seq, 4);
  put_le(out.data() + 8, h.send_ns, 8);
  for (std::size_t i = kMinPayload; i < out.size(); ++i) out[i] = static_cast<std::uint8_t>('a' + i % 26);
  return true;
}

std::optional<PayloadHeader> decode_payload(std::span<const std::uint8_t> in) {
  if (in.size() < kMinPayload) return std::nullopt;
  PayloadHeader h;
  h.client = static_cast<std::uint32_t>(get_le(in.data(), 4));
  h.seq = static_cast<std::uint32_t>(get_le(in.data() + 4, 4));
  h.send_ns = get_le(in.data() + 8, 8);
  return h;
}

std::uint64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<std::uint64_t>(ts.tv_nsec);
}

}  // namespace mqttsn::bench
