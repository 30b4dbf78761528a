#include "link_address.hpp"

#include <cstdio>

namespace mqttsn {

LinkAddress LinkAddress::xbee(std::uint8_t link, std::uint64_t addr64, std::uint16_t addr16) {
  LinkAddress a;
  a.link = link;
  a.kind = AddressKind::xbee;
  a.size = 8;
  for (int i = 0; i < 8; ++i) a.bytes[i] = static_cast<std::uint8_t>(addr64 >> (56 - 8 * i));
  a.xbee16 = addr16;
  return a;
}

LinkAddress LinkAddress::udp4(std::uint8_t link, std::array<std::uint8_t, 4> ip, std::uint16_t port) {
  LinkAddress a;
  a.link = link;
  a.kind = AddressKind::udp4;
  a.size = 6;
  for (int i = 0; i < 4; ++i) a.bytes[i] = ip[i];
  a.bytes[4] = static_cast<std::uint8_t>(port >> 8);
  a.bytes[5] = static_cast<std::uint8_t>(port);
  return a;
}

LinkAddress LinkAddress::udp6(std::uint8_t link, std::array<std::uint8_t, 16> ip, std::uint16_t port) {
  LinkAddress a;
  a.link = link;
  a.kind = AddressKind::udp6;
  a.size = 18;
  for (int i = 0; i < 16; ++i) a.bytes[i] = ip[i];
  a.bytes[16] = static_cast<std::uint8_t>(port >> 8);
  a.bytes[17] = static_cast<std::uint8_t>(port);
  return a;
}

LinkAddress LinkAddress::serial(std::uint8_t link) {
  LinkAddress a;
  a.link = link;
  a.kind = AddressKind::serial;
  return a;
}

std::uint64_t LinkAddress::xbee64() const {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | bytes[i];
  return v;
}

std::uint16_t LinkAddress::port() const {
  const std::size_t at = kind == AddressKind::udp6 ? 16 : 4;
  return static_cast<std::uint16_t>((bytes[at] << 8) | bytes[at + 1]);
}

std::string LinkAddress::to_string() const {
  char buf[64];
  switch (kind) {
    case AddressKind::xbee:
      std::snprintf(buf, sizeof buf, "xbee:%016llX", static_cast<unsigned long long>(xbee64()));
      return buf;
    case AddressKind::udp4:
      std::snprintf(buf, sizeof buf, "udp:%u.%u.%u.%u:%u", bytes[0], bytes[1], bytes[2], bytes[3], port());
      return buf;
    case AddressKind::udp6: {
      // Full (uncompressed) form: unambiguous and good enough for logs and the status socket.
      std::string s = "udp:[";
      for (int i = 0; i < 16; i += 2) {
        std::snprintf(buf, sizeof buf, "%s%x", i ? ":" : "", (bytes[i] << 8) | bytes[i + 1]);
        s += buf;
      }
      std::snprintf(buf, sizeof buf, "]:%u", port());
      return s + buf;
    }
    case AddressKind::serial:
      return "serial";
    case AddressKind::none:
      break;
  }
  return "none";
}

}  // namespace mqttsn
