#pragma once
// systemd integration: READY=1 once the links are open and the first upstream attempt was made,
// STOPPING=1 on shutdown, RELOADING=1 around SIGHUP, and watchdog pings from the loop itself (so a
// stuck loop, not just a dead process, gets the service restarted).
#include <uv.h>

#include <string>

namespace mqttsn::app {

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
