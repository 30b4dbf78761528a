// What the three back ends share: choosing one for a path, the poll handle, the write queue, and
// losing and reopening the device. Each back end's open (and close, where it differs from close(2))
// is in its own file: serial_port_libserialport.cpp, serial_port_termios.cpp, serial_port_tcp.cpp.
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "gateway/core/log.hpp"
#include "radio/serial_port.hpp"
#include "radio/uv_timer.hpp"

namespace mqttsn::radio {

namespace {

constexpr std::string_view kTcpScheme = "tcp://";

bool is_pseudo_terminal(const std::string& path, const struct stat& st) {
  if (path.rfind("/dev/pts/", 0) == 0) return true;
  // Unix98 pty slaves use major numbers 136..143 on Linux.
  return S_ISCHR(st.st_mode) && major(st.st_rdev) >= 136 && major(st.st_rdev) <= 143;
}

}  // namespace

std::string SerialPort::describe_open_error(int err, const std::string& device) {
  std::string s = device + ": " + std::strerror(err);
  switch (err) {
    case EACCES:
    case EPERM:
      return s +
             " (permission denied: add the gateway's user to group dialout, e.g. "
             "`usermod -aG dialout <user>`, or fix the device's udev rule)";
    case ENOENT:
    case ENODEV:
    case ENXIO:
      return s +
             " (device not present: is the radio plugged in? check the path, e.g. "
             "`ls -l /dev/serial/by-id/`)";
    case EBUSY:
      return s + " (device busy: another program holds it, e.g. ModemManager or a terminal)";
    case ECONNREFUSED:
      return s + " (connection refused: is ser2net/socat listening on that port?)";
    default:
      return s;
  }
}

SerialPort::SerialPort(SerialOptions options, Callbacks callbacks, std::string log_name)
    : options_(std::move(options)),
      callbacks_(std::move(callbacks)),
      log_name_(std::move(log_name)),
      backoff_(options_.reopen_initial) {}

SerialPort::~SerialPort() {
  if (loop_ != nullptr) close();
}

int SerialPort::start(uv_loop_t* loop) {
  loop_ = loop;
  closed_ = false;
  if (const int rc = open_timer(loop, this, timer_); rc != 0) return rc;
  if (!try_open()) schedule_reopen();
  return 0;
}

void SerialPort::close() {
  if (closed_) return;
  closed_ = true;
  release_device();
  close_timer(timer_);
}

// ---- opening ----

bool SerialPort::try_open() {
  std::string error_text;
  const int fd = open_device(error_text);
  if (fd < 0) {
    open_failed(-fd, error_text);
    return false;
  }
  fd_ = fd;
  if (!begin_polling()) return false;
  if (!connecting_) became_open();
  return true;
}

int SerialPort::open_device(std::string& error_text) {
  const std::string& dev = options_.device;
  if (dev.rfind(kTcpScheme, 0) == 0)
    return open_tcp(std::string_view(dev).substr(kTcpScheme.size()), error_text);

  char resolved_buf[PATH_MAX];
  if (realpath(dev.c_str(), resolved_buf) == nullptr) {
    const int err = errno;
    error_text = describe_open_error(err, dev);
    return -err;
  }
  const std::string resolved(resolved_buf);
  struct stat st {};
  if (stat(resolved.c_str(), &st) != 0) {
    const int err = errno;
    error_text = describe_open_error(err, dev);
    return -err;
  }
  if (is_pseudo_terminal(resolved, st)) return open_termios(resolved, error_text);

  std::string sp_error;
  const int fd = open_libserialport(resolved, sp_error);
  if (fd >= 0) return fd;
  MQTTSN_LOG(info, "%s: libserialport could not open %s (%s); trying plain termios", log_name_.c_str(),
             resolved.c_str(), sp_error.c_str());
  return open_termios(resolved, error_text);
}

bool SerialPort::begin_polling() {
  poll_ = new uv_poll_t;
  if (const int rc = uv_poll_init(loop_, poll_, fd_); rc != 0) {
    delete poll_;
    poll_ = nullptr;
    std::string text = options_.device + ": cannot watch the device (" + uv_strerror(rc) + ")";
    release_device();
    open_failed(-rc, text);
    return false;
  }
  poll_->data = this;
  poll_events_ = 0;
  update_poll_events();
  return true;
}

void SerialPort::became_open() {
  connecting_ = false;
  ++stats_.opens;
  if (lost_logged_ || last_open_errno_ != 0)
    MQTTSN_LOG(notice, "%s: %s is open again (%s)", log_name_.c_str(), options_.device.c_str(),
               backend_.c_str());
  else
    MQTTSN_LOG(info, "%s: opened %s through %s", log_name_.c_str(), options_.device.c_str(),
               backend_.c_str());
  lost_logged_ = false;
  last_open_errno_ = 0;
  backoff_ = options_.reopen_initial;
  if (callbacks_.on_open) callbacks_.on_open();
}

void SerialPort::open_failed(int err, const std::string& text) {
  ++stats_.open_failures;
  if (err != last_open_errno_) {
    // Logged once per distinct reason, so a radio left unplugged for a day does not flood the log.
    MQTTSN_LOG(error, "%s: cannot open %s; retrying with back-off (up to %.1f s)", log_name_.c_str(),
               text.c_str(), static_cast<double>(options_.reopen_max.count()) / 1000.0);
    last_open_errno_ = err;
  } else {
    MQTTSN_LOG(debug, "%s: still cannot open %s", log_name_.c_str(), text.c_str());
  }
}

void SerialPort::schedule_reopen() {
  if (closed_ || timer_ == nullptr) return;
  uv_timer_start(timer_, timer_cb, static_cast<std::uint64_t>(backoff_.count()), 0);
  backoff_ = std::min(backoff_ * 2, options_.reopen_max);
}

void SerialPort::timer_cb(uv_timer_t* handle) {
  auto* self = static_cast<SerialPort*>(handle->data);
  if (self == nullptr || self->closed_ || self->fd_ >= 0) return;
  ++self->stats_.reopen_attempts;
  if (!self->try_open()) self->schedule_reopen();
}

// ---- losing the device ----

void SerialPort::release_device() {
  ++generation_;
  if (poll_ != nullptr) {
    uv_poll_stop(poll_);
    poll_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(poll_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
    poll_ = nullptr;
  }
  if (sp_ != nullptr) {
    close_libserialport();  // closes fd_
  } else if (fd_ >= 0) {
    ::close(fd_);
  }
  fd_ = -1;
  connecting_ = false;
  queue_.clear();
  queue_head_offset_ = 0;
  queued_bytes_ = 0;
}

void SerialPort::device_lost(const std::string& reason) {
  if (fd_ < 0) return;
  ++stats_.unplugs;
  if (!lost_logged_) {
    MQTTSN_LOG(warning,
               "%s: %s went away (%s); the rest of the gateway carries on, reopening "
               "with back-off",
               log_name_.c_str(), options_.device.c_str(), reason.c_str());
    lost_logged_ = true;
  }
  release_device();
  backoff_ = options_.reopen_initial;
  schedule_reopen();
  if (callbacks_.on_close) callbacks_.on_close();
}

// ---- I/O ----

void SerialPort::poll_cb(uv_poll_t* handle, int status, int events) {
  auto* self = static_cast<SerialPort*>(handle->data);
  if (self != nullptr) self->on_poll(status, events);
}

void SerialPort::on_poll(int status, int events) {
  if (status < 0) {
    device_lost(std::string("poll error: ") + uv_strerror(status));
    return;
  }
  if (connecting_) {
    if ((events & UV_WRITABLE) != 0) finish_tcp_connect();
    return;
  }
  const std::uint64_t gen = generation_;
  if ((events & UV_READABLE) != 0) {
    read_available();
    if (gen != generation_) return;
  }
  if ((events & UV_WRITABLE) != 0) flush_queue();
}

void SerialPort::read_available() {
  const std::uint64_t gen = generation_;
  std::uint8_t buf[4096];
  // A bounded number of reads per wake-up, so one busy port cannot starve the loop.
  for (int round = 0; round < 16; ++round) {
    const ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n > 0) {
      stats_.bytes_in += static_cast<std::uint64_t>(n);
      if (callbacks_.on_data) callbacks_.on_data({buf, static_cast<std::size_t>(n)});
      if (gen != generation_ || closed_) return;  // the callback closed or lost the port
      if (static_cast<std::size_t>(n) < sizeof buf) return;
      continue;
    }
    if (n == 0) {
      device_lost("end of file");
      return;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    device_lost(std::strerror(errno));
    return;
  }
}

SerialPort::WriteResult SerialPort::write(std::span<const std::uint8_t> bytes) {
  if (fd_ < 0 || connecting_) {
    ++stats_.not_open_drops;
    return WriteResult::not_open;
  }
  if (bytes.empty()) return WriteResult::written;
  std::size_t done = 0;
  if (queue_.empty()) {
    const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        const int err = errno;
        device_lost(std::string("write: ") + std::strerror(err));
        ++stats_.not_open_drops;
        return WriteResult::not_open;
      }
    } else {
      done = static_cast<std::size_t>(n);
      stats_.bytes_out += done;
    }
    if (done == bytes.size()) return WriteResult::written;
  } else if (queued_bytes_ + bytes.size() > options_.write_queue_limit) {
    // Only whole writes are refused, so a frame is never cut in half on the wire.
    ++stats_.queue_full_drops;
    return WriteResult::queue_full;
  }
  queue_.emplace_back(bytes.begin() + static_cast<std::ptrdiff_t>(done), bytes.end());
  queued_bytes_ += bytes.size() - done;
  update_poll_events();
  return WriteResult::written;
}

void SerialPort::flush_queue() {
  while (!queue_.empty()) {
    const auto& front = queue_.front();
    const std::size_t left = front.size() - queue_head_offset_;
    const ssize_t n = ::write(fd_, front.data() + queue_head_offset_, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      device_lost(std::string("write: ") + std::strerror(errno));
      return;
    }
    const auto written = static_cast<std::size_t>(n);
    stats_.bytes_out += written;
    queued_bytes_ -= written;
    if (written < left) {
      queue_head_offset_ += written;
      break;
    }
    queue_.pop_front();
    queue_head_offset_ = 0;
  }
  update_poll_events();
}

void SerialPort::update_poll_events() {
  if (poll_ == nullptr) return;
  std::uint32_t events = connecting_ ? UV_WRITABLE : UV_READABLE;
  if (!queue_.empty()) events |= UV_WRITABLE;
  if (events == poll_events_) return;
  poll_events_ = events;
  uv_poll_start(poll_, static_cast<int>(events), poll_cb);
}

}  // namespace mqttsn::radio
