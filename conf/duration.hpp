#pragma once
// Durations in configuration files are strings with a unit: "250ms", "30s", "15m", "2h", "7d", or
// sums of them ("1m30s", "1d12h"). A bare number is refused on purpose: "250" could mean seconds or
// milliseconds, and guessing wrong silently turns a 4-minute timeout into a quarter of a second.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace mqttsn::conf {

using Duration = std::chrono::milliseconds;

std::optional<Duration> parse_duration(std::string_view text);

// The shortest form parse_duration() reads back: 90000ms -> "1m30s", 0 -> "0s", 36h -> "1d12h".
std::string format_duration(Duration d);

}  // namespace mqttsn::conf
