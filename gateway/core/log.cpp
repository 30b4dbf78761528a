#include "log.hpp"

#include <cstdarg>
#include <cstdio>

namespace mqttsn::log {

namespace detail {
int current_level = static_cast<int>(Level::notice);
}

namespace {
void stderr_sink(Level l, std::string_view line) {
  std::fprintf(stderr, "%-7s %.*s\n", name(l), static_cast<int>(line.size()), line.data());
}
Sink g_sink = stderr_sink;
}  // namespace

void set_level(Level l) {
  detail::current_level = static_cast<int>(l);
}
Level level() {
  return static_cast<Level>(detail::current_level);
}
void set_sink(Sink s) {
  g_sink = s ? s : stderr_sink;
}

const char* name(Level l) {
  switch (l) {
    case Level::error:
      return "error";
    case Level::warning:
      return "warning";
    case Level::notice:
      return "notice";
    case Level::info:
      return "info";
    case Level::debug:
      return "debug";
    case Level::trace:
      return "trace";
  }
  return "?";
}

void write(Level l, const char* fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  std::size_t len = static_cast<std::size_t>(n) < sizeof buf ? static_cast<std::size_t>(n) : sizeof buf - 1;
  g_sink(l, std::string_view(buf, len));
}

}  // namespace mqttsn::log
