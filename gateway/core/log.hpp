#pragma once
// A minimal leveled logger shared by every layer. The core only formats; where lines go is the
// app's choice (stderr with syslog priority prefixes under systemd). Levels map to syslog priorities.
#include <string_view>

namespace mqttsn::log {

enum class Level : int { error = 3, warning = 4, notice = 5, info = 6, debug = 7, trace = 8 };

using Sink = void (*)(Level, std::string_view line);

void set_level(Level l);
Level level();
inline bool enabled(Level l);
void set_sink(Sink s);  // nullptr restores the default (stderr)
void write(Level l, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
const char* name(Level l);

namespace detail {
extern int current_level;
}
inline bool enabled(Level l) {
  return static_cast<int>(l) <= detail::current_level;
}

}  // namespace mqttsn::log

// Arguments are evaluated only when the level is enabled (packet traces cost nothing when off).
#define MQTTSN_LOG(lvl, ...)                                        \
  do {                                                              \
    if (::mqttsn::log::enabled(::mqttsn::log::Level::lvl))          \
      ::mqttsn::log::write(::mqttsn::log::Level::lvl, __VA_ARGS__); \
  } while (0)
