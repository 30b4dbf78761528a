#pragma once
// systemd integration: READY=1 once the links are open and the first upstream attempt was made,
// STOPPING=1 on shutdown, RELOADING=1 around SIGHUP, and watchdog pings from the loop itself (so a
// stuck loop, not just a dead process, gets the service restarted).
//
// The notification protocol is one datagram to the socket in $NOTIFY_SOCKET (sd_notify(3)); we write
// it ourselves rather than link libsystemd, which maps ~1 MB of libraries (libsystemd, libgcrypt,
// lz4, zstd, lzma) into the daemon for that one sendto().
#include <uv.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace mqttsn::app {

namespace sd {
// Sends `message` (e.g. "READY=1\nSTATUS=...") to $NOTIFY_SOCKET: a file system path, or an abstract
// socket when it starts with '@'. False when the variable is unset or the datagram cannot be sent
// (not under systemd is the common case, and not an error).
bool notify(std::string_view message);
// As sd_watchdog_enabled(3) without unsetting anything: the watchdog interval from $WATCHDOG_USEC in
// microseconds, or 0 when there is none, it does not parse, or $WATCHDOG_PID names another process.
std::uint64_t watchdog_usec();
}  // namespace sd

class SystemdNotifier {
 public:
  explicit SystemdNotifier(uv_loop_t* loop);
  ~SystemdNotifier();
  SystemdNotifier(const SystemdNotifier&) = delete;
  SystemdNotifier& operator=(const SystemdNotifier&) = delete;

  void ready(const std::string& status);
  void reloading();
  void reloaded();
  void stopping();
  void status(const std::string& text);
  void close();  // stops the watchdog timer (for a clean loop exit)
  bool watchdog_enabled() const { return watchdog_usec_ != 0; }

 private:
  static void on_watchdog(uv_timer_t* t);
  uv_timer_t timer_{};
  bool timer_started_ = false;
  unsigned long long watchdog_usec_ = 0;
};

}  // namespace mqttsn::app
