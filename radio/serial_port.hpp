#pragma once
// A serial device inside the libuv loop: opened by path, watched by a uv_poll_t, with a bounded
// write queue and automatic reopening after an unplug.
//
// Three back ends behind one class, chosen from the path and logged:
//  - a real serial device through libserialport (baud, bits, parity, stop bits, flow control);
//  - a pseudo-terminal (a simulator, socat) through plain termios, because Debian's libserialport
//    0.1.1 refuses ptys (no /sys/class/tty entry, and its modem-control ioctl fails); also used if
//    libserialport fails on something that is not a pty;
//  - "tcp://host:port" (ser2net and friends) through a non-blocking TCP socket.
// Each back end is in its own file (serial_port_libserialport.cpp, serial_port_termios.cpp,
// serial_port_tcp.cpp); serial_port.cpp chooses one and does the polling, queueing and reopening.
// The path is resolved with realpath() on every (re)open, so /dev/serial/by-id/... symlinks work and
// a symlink re-pointed to a new device is followed.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <uv.h>

#include "gateway/core/counter_set.hpp"

struct sp_port;

namespace mqttsn::radio {

enum class Parity : std::uint8_t { none, odd, even, mark, space };
enum class FlowControl : std::uint8_t { none, rtscts, xonxoff };

struct SerialOptions {
  std::string device;  // "/dev/ttyUSB0", "/dev/serial/by-id/...", or "tcp://host:port"
  int baud = 9600;
  int data_bits = 8;
  Parity parity = Parity::none;
  int stop_bits = 1;
  FlowControl flow_control = FlowControl::none;
  std::size_t write_queue_limit = 64 * 1024;       // bytes waiting for the device; beyond: dropped
  std::chrono::milliseconds reopen_initial{1000};  // back-off after an unplug or a failed open
  std::chrono::milliseconds reopen_max{30000};
};

// The port's counters. A link on a serial port reports them among its own, under the same names
// (radio/port_stats.hpp).
#define MQTTSN_SERIAL_PORT_COUNTERS(X) \
  X(bytes_in)                          \
  X(bytes_out)                         \
  X(queue_full_drops)                  \
  X(not_open_drops)                    \
  X(unplugs)                           \
  X(open_failures)                     \
  X(reopen_attempts)                   \
  X(opens)

struct SerialPortStats {
  MQTTSN_COUNTER_MEMBERS(MQTTSN_SERIAL_PORT_COUNTERS);
};
static_assert(lists_every_member<SerialPortStats>());

class SerialPort {
 public:
  struct Callbacks {
    std::function<void(std::span<const std::uint8_t>)> on_data;
    std::function<void()> on_open;   // after every successful open (first and reopen)
    std::function<void()> on_close;  // after the device went away (not after close())
  };
  enum class WriteResult : std::uint8_t { written, not_open, queue_full };

  SerialPort(SerialOptions options, Callbacks callbacks, std::string log_name = "serial");
  ~SerialPort();
  SerialPort(const SerialPort&) = delete;
  SerialPort& operator=(const SerialPort&) = delete;

  // Tries to open now; if that fails, logs why (naming the device and the likely fix) and retries
  // with back-off. Returns 0, or a negative libuv error if the timer cannot be set up.
  int start(uv_loop_t* loop);
  void close();  // idempotent; frees its handles through their close callbacks

  // Writes all of `bytes` (now or, for what the device does not take at once, later in order).
  WriteResult write(std::span<const std::uint8_t> bytes);

  bool is_open() const { return fd_ >= 0 && !connecting_; }
  const SerialPortStats& stats() const { return stats_; }
  const SerialOptions& options() const { return options_; }
  std::string_view backend() const { return backend_; }  // of the current/last open
  std::chrono::milliseconds next_backoff() const { return backoff_; }
  std::size_t queued_bytes() const { return queued_bytes_; }

  // The human explanation for an open() errno, with the likely fix (exposed for tests and logs).
  static std::string describe_open_error(int err, const std::string& device);

 private:
  bool try_open();
  int open_device(std::string& error_text);
  int open_libserialport(const std::string& path, std::string& error_text);
  int open_termios(const std::string& path, std::string& error_text);
  int open_tcp(std::string_view host_port, std::string& error_text);
  void close_libserialport();  // closes fd_ with the port
  void finish_tcp_connect();   // the socket became writable: the connect finished
  bool begin_polling();
  void became_open();
  void open_failed(int err, const std::string& text);
  void device_lost(const std::string& reason);
  void release_device();
  void schedule_reopen();
  void update_poll_events();
  void flush_queue();
  void on_poll(int status, int events);
  void read_available();

  static void poll_cb(uv_poll_t* handle, int status, int events);
  static void timer_cb(uv_timer_t* handle);

  SerialOptions options_;
  Callbacks callbacks_;
  std::string log_name_;
  uv_loop_t* loop_ = nullptr;
  uv_poll_t* poll_ = nullptr;
  uv_timer_t* timer_ = nullptr;
  int fd_ = -1;
  sp_port* sp_ = nullptr;
  bool connecting_ = false;  // tcp:// connect in progress
  bool closed_ = false;
  bool lost_logged_ = false;      // "went away" logged; stays quiet until it is back
  int last_open_errno_ = 0;       // log a failing open once per distinct reason
  std::uint64_t generation_ = 0;  // bumped whenever the device is released
  std::string backend_ = "none";
  std::chrono::milliseconds backoff_;
  std::deque<std::vector<std::uint8_t>> queue_;
  std::size_t queue_head_offset_ = 0;
  std::size_t queued_bytes_ = 0;
  std::uint32_t poll_events_ = 0;
  SerialPortStats stats_;
};

}  // namespace mqttsn::radio
