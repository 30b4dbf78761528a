#pragma once
// The bench payload: who sent a message, which one, and when. The subscriber lives in the same
// process as the UDP clients (or in the parent of the direct publisher), and CLOCK_MONOTONIC is
// system-wide, so a send timestamp taken here can be compared with a receive time taken there.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace mqttsn::bench {

inline constexpr std::size_t kMinPayload = 16;  // u32 client, u32 seq, u64 send time (ns)

struct PayloadHeader {
  std::uint32_t client = 0;
  std::uint32_t seq = 0;
  std::uint64_t send_ns = 0;
};

// Writes the header (little-endian) and fills the rest with a repeating pattern. `out` must be at
// least kMinPayload octets; returns false otherwise.
bool encode_payload(const PayloadHeader& h, std::span<std::uint8_t> out);

// Reads the header back; nullopt when fewer than kMinPayload octets arrived.
std::optional<PayloadHeader> decode_payload(std::span<const std::uint8_t> in);

// CLOCK_MONOTONIC in nanoseconds.
std::uint64_t now_ns();

}  // namespace mqttsn::bench
