#include "gateway/app/systemd_notify.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "gateway/core/log.hpp"

namespace mqttsn::app {

namespace sd {

namespace {

// A whole decimal number, nothing else (sd_watchdog_enabled refuses "15s" or " 15" the same way).
bool parse_unsigned(const char* text, std::uint64_t& out) {
  if (text == nullptr || *text == '\0') return false;
  const char* end = text + std::strlen(text);
  auto [p, ec] = std::from_chars(text, end, out);
  return ec == std::errc{} && p == end;
}

}  // namespace

bool notify(std::string_view message) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (path == nullptr || (path[0] != '/' && path[0] != '@'))
    return false;  // unset, or AF_VSOCK (virtual machines)
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::size_t len = std::strlen(path);
  if (len >= sizeof(addr.sun_path)) return false;
  std::memcpy(addr.sun_path, path, len);
  if (path[0] == '@') addr.sun_path[0] = '\0';  // abstract namespace: the name is not 0-terminated
  const auto addr_len =
      static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len + (path[0] == '@' ? 0 : 1));

  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  ssize_t sent;
  do {
    sent = ::sendto(fd, message.data(), message.size(), MSG_NOSIGNAL,
                    reinterpret_cast<const sockaddr*>(&addr), addr_len);
  } while (sent < 0 && errno == EINTR);
  ::close(fd);
  return sent == static_cast<ssize_t>(message.size());
}

std::uint64_t watchdog_usec() {
  std::uint64_t usec = 0;
  if (!parse_unsigned(std::getenv("WATCHDOG_USEC"), usec) || usec == 0) return 0;
  // Set by systemd for the main process only: a child that inherited the environment must not ping.
  if (const char* pid_text = std::getenv("WATCHDOG_PID"); pid_text != nullptr) {
    std::uint64_t pid = 0;
    if (!parse_unsigned(pid_text, pid) || pid != static_cast<std::uint64_t>(::getpid())) return 0;
  }
  return usec;
}

}  // namespace sd

SystemdNotifier::SystemdNotifier(uv_loop_t* loop) {
  const std::uint64_t usec = sd::watchdog_usec();
  if (usec > 0) {
    watchdog_usec_ = usec;
    uv_timer_init(loop, &timer_);
    timer_.data = this;
    // Ping at half the interval, as sd_watchdog_enabled(3) recommends.
    const uint64_t period_ms = usec / 2000 ? usec / 2000 : 1;
    uv_timer_start(&timer_, on_watchdog, period_ms, period_ms);
    uv_unref(reinterpret_cast<uv_handle_t*>(&timer_));  // the watchdog alone keeps nothing alive
    timer_started_ = true;
    MQTTSN_LOG(info, "systemd watchdog every %llu ms", static_cast<unsigned long long>(period_ms));
  }
}

SystemdNotifier::~SystemdNotifier() = default;

void SystemdNotifier::on_watchdog(uv_timer_t*) {
  sd::notify("WATCHDOG=1");
}

void SystemdNotifier::ready(const std::string& status) {
  sd::notify("READY=1\nSTATUS=" + status);
}
void SystemdNotifier::reloading() {
  sd::notify("RELOADING=1");
}
void SystemdNotifier::reloaded() {
  sd::notify("READY=1");
}
void SystemdNotifier::stopping() {
  sd::notify("STOPPING=1");
}
void SystemdNotifier::status(const std::string& text) {
  sd::notify("STATUS=" + text);
}

void SystemdNotifier::close() {
  if (timer_started_) {
    uv_timer_stop(&timer_);
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
    timer_started_ = false;
  }
}

}  // namespace mqttsn::app
