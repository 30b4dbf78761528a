#include "gateway/app/systemd_notify.hpp"

#include <systemd/sd-daemon.h>

#include "gateway/core/log.hpp"

namespace mqttsn::app {

SystemdNotifier::SystemdNotifier(uv_loop_t* loop) {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
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
  sd_notify(0, "WATCHDOG=1");
}

void SystemdNotifier::ready(const std::string& status) {
  sd_notifyf(0, "READY=1\nSTATUS=%s", status.c_str());
}
void SystemdNotifier::reloading() {
  sd_notify(0, "RELOADING=1");
}
void SystemdNotifier::reloaded() {
  sd_notify(0, "READY=1");
}
void SystemdNotifier::stopping() {
  sd_notify(0, "STOPPING=1");
}
void SystemdNotifier::status(const std::string& text) {
  sd_notifyf(0, "STATUS=%s", text.c_str());
}

void SystemdNotifier::close() {
  if (timer_started_) {
    uv_timer_stop(&timer_);
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
    timer_started_ = false;
  }
}

}  // namespace mqttsn::app
