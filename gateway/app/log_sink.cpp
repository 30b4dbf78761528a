#include "gateway/app/log_sink.hpp"

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "gateway/core/log.hpp"

namespace mqttsn::app {
namespace {

bool g_journal = false;

// systemd sets JOURNAL_STREAM=<dev>:<inode> for the stream it connected to stderr; only then do the
// "<N>" prefixes mean something (on a terminal they would be noise).
bool stderr_is_journal() {
  const char* js = std::getenv("JOURNAL_STREAM");
  if (!js) return false;
  unsigned long long dev = 0, ino = 0;
  if (std::sscanf(js, "%llu:%llu", &dev, &ino) != 2) return false;
  struct stat st {};
  if (fstat(2, &st) != 0) return false;
  return static_cast<unsigned long long>(st.st_dev) == dev &&
         static_cast<unsigned long long>(st.st_ino) == ino;
}

void sink(log::Level level, std::string_view line) {
  const int prio = static_cast<int>(level) > 7 ? 7 : static_cast<int>(level);
  if (g_journal) {
    // journald adds its own timestamp.
    std::fprintf(stderr, "<%d>%.*s\n", prio, static_cast<int>(line.size()), line.data());
    return;
  }
  struct timespec ts {};
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm {};
  localtime_r(&ts.tv_sec, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%H:%M:%S", &tm);
  std::fprintf(stderr, "%s.%03ld %-7s %.*s\n", stamp, ts.tv_nsec / 1000000, log::name(level),
               static_cast<int>(line.size()), line.data());
}

}  // namespace

void install_log_sink() {
  g_journal = stderr_is_journal();
  setvbuf(stderr, nullptr, _IOLBF, 0);
  log::set_sink(sink);
}

}  // namespace mqttsn::app
