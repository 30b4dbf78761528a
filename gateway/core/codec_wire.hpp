#pragma once
// Internal to the codec: wire constants of MQTT-SN 1.2 (protocol.md §1-2) shared by the decoder
// and the encoder, so both sides agree on every bit by construction. Not part of the public API.
#include <cstddef>
#include <cstdint>

#include "gateway/core/messages.hpp"

namespace mqttsn::wire {

// Flags octet (§2).
inline constexpr std::uint8_t kDup = 0x80;
inline constexpr std::uint8_t kQosMask = 0x60;
inline constexpr unsigned kQosShift = 5;
inline constexpr std::uint8_t kRetain = 0x10;
inline constexpr std::uint8_t kWill = 0x08;
inline constexpr std::uint8_t kCleanSession = 0x04;
inline constexpr std::uint8_t kTopicIdTypeMask = 0x03;
inline constexpr std::uint8_t kReservedTopicIdType = 0x03;
inline constexpr std::uint8_t kQosMinus1Bits = 0x03;

// Length header (§1.1).
inline constexpr std::uint8_t kLongFormMarker = 0x01;
inline constexpr std::size_t kShortHeader = 1;
inline constexpr std::size_t kLongHeader = 3;
inline constexpr std::size_t kMaxShortTotal = 0xFF;
inline constexpr std::size_t kMaxTotal = 0xFFFF;

// Field limits.
inline constexpr std::size_t kMaxClientId = 23;
inline constexpr std::uint8_t kProtocolId = 0x01;
// Encapsulation (§4.12): 1-octet Length, MsgType 0xFE, Ctrl, then the node id.
inline constexpr std::size_t kEncapFixedHeader = 3;
inline constexpr std::size_t kMaxNodeId = kMaxShortTotal - kEncapFixedHeader;  // 252

constexpr QoS qos_from_bits(std::uint8_t flags) {
  const auto bits = static_cast<std::uint8_t>((flags & kQosMask) >> kQosShift);
  return bits == kQosMinus1Bits ? QoS{-1} : static_cast<QoS>(bits);
}

// Callers validate qos first (0, 1, 2 or -1).
constexpr std::uint8_t qos_to_bits(QoS q) {
  const std::uint8_t bits = q < 0 ? kQosMinus1Bits : static_cast<std::uint8_t>(q);
  return static_cast<std::uint8_t>(bits << kQosShift);
}

constexpr std::uint16_t be16(std::uint8_t hi, std::uint8_t lo) {
  return static_cast<std::uint16_t>((hi << 8) | lo);
}

// The MsgType octet of an encoded datagram, or -1 when the header is cut before it. Used to spot a
// nested encapsulation without decoding the inner message.
constexpr int peek_type(const std::uint8_t* p, std::size_t n) {
  if (n == 0) return -1;
  const std::size_t at = p[0] == kLongFormMarker ? kLongHeader : kShortHeader;
  return n > at ? p[at] : -1;
}

}  // namespace mqttsn::wire
