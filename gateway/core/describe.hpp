#pragma once
// Renders a datagram in the description syntax of tests/data/mqttsn-vectors.txt (also the daemon's
// packet trace at -vv), e.g.
// `PUBLISH len=9 flags=0x20(QoS1,normal) TopicId=0x0001 MsgId=0x0002 Data="22"`, so a vector test can
// compare every decoded field with one string comparison. Flags octets are rebuilt from the decoded
// fields (not copied from the input), so a wrong field shows up as a wrong flags value.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace mqttsn {

// Decodes `datagram` and renders it; an ENCAPSULATED one is followed by " :: " and its inner message.
// On a decode error returns "error: <reason>".
std::string describe(std::span<const std::uint8_t> datagram);

// Upper-case hex without a prefix: a number in `digits` digits ("0013A200..."), or bytes ("0A1B").
std::string hex(std::uint64_t value, int digits);
std::string hex(std::span<const std::uint8_t> bytes);
std::string hex(std::string_view bytes);

}  // namespace mqttsn
