#pragma once
// The address of a node as the gateway core sees it: which link it came from plus that link's own
// address bytes. Small, copyable and hashable, so sessions can be keyed by it. The core treats the
// bytes as opaque; the radio layer fills them in and reads them back.
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>

namespace mqttsn {

enum class AddressKind : std::uint8_t {
  none = 0,
  xbee = 1,    // bytes[0..8) = 64-bit source address, big-endian; xbee16 is a routing hint only
  udp4 = 2,    // bytes[0..4) = IPv4 address, bytes[4..6) = port, both big-endian
  udp6 = 3,    // bytes[0..16) = IPv6 address, bytes[16..18) = port
  serial = 4,  // plain (njh) serial line: the line is the node, no address bytes
};

struct LinkAddress {
  std::uint8_t link = 0;  // index of the link inside the gateway
  AddressKind kind = AddressKind::none;
  std::uint8_t size = 0;  // bytes in use
  std::array<std::uint8_t, 18> bytes{};
  // XBee 16-bit network address last seen for this node. It changes when a node rejoins, so it is
  // deliberately not part of the identity (the spec keys clients by the stable 64-bit address).
  std::uint16_t xbee16 = 0xFFFE;

  std::span<const std::uint8_t> view() const { return {bytes.data(), size}; }

  friend bool operator==(const LinkAddress& a, const LinkAddress& b) {
    if (a.link != b.link || a.kind != b.kind || a.size != b.size) return false;
    for (std::size_t i = 0; i < a.size; ++i)
      if (a.bytes[i] != b.bytes[i]) return false;
    return true;
  }

  static LinkAddress xbee(std::uint8_t link, std::uint64_t addr64, std::uint16_t addr16 = 0xFFFE);
  static LinkAddress udp4(std::uint8_t link, std::array<std::uint8_t, 4> ip, std::uint16_t port);
  static LinkAddress udp6(std::uint8_t link, std::array<std::uint8_t, 16> ip, std::uint16_t port);
  static LinkAddress serial(std::uint8_t link);

  std::uint64_t xbee64() const;  // valid for kind == xbee
  std::uint16_t port() const;    // valid for udp4 / udp6

  // "xbee:0013A20040522BAA", "udp:127.0.0.1:5000", "udp:[::1]:5000", "serial"
  std::string to_string() const;
};

struct LinkAddressHash {
  std::size_t operator()(const LinkAddress& a) const noexcept {
    // FNV-1a over the identity bytes: cheap and good enough for a few thousand nodes.
    std::uint64_t h = 1469598103934665603ull;
    auto mix = [&h](std::uint8_t b) { h = (h ^ b) * 1099511628211ull; };
    mix(a.link);
    mix(static_cast<std::uint8_t>(a.kind));
    for (std::size_t i = 0; i < a.size; ++i) mix(a.bytes[i]);
    return static_cast<std::size_t>(h);
  }
};

}  // namespace mqttsn

template <>
struct std::hash<mqttsn::LinkAddress> : mqttsn::LinkAddressHash {};
