#include "radio/serial_port.hpp"

#include <fcntl.h>
#include <libserialport.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "gateway/core/log.hpp"

namespace mqttsn::radio {

namespace {

constexpr std::string_view kTcpScheme = "tcp://";

bool is_pseudo_terminal(const std::string& path, const struct stat& st) {
  if (path.rfind("/dev/pts/", 0) == 0) return true;
  // Unix98 pty slaves use major numbers 136..143 on Linux.
  return S_ISCHR(st.st_mode) && major(st.st_rdev) >= 136 && major(st.st_rdev) <= 143;
}

speed_t termios_speed(int baud) {
  switch (baud) {
    case 1200:
      return B1200;
    case 2400:
      return B2400;
    case 4800:
      return B4800;
    case 9600:
      return B9600;
    case 19200:
      return B19200;
    case 38400:
      return B38400;
    case 57600:
      return B57600;
    case 115200:
      return B115200;
    case 230400:
      return B230400;
    case 460800:
      return B460800;
    case 921600:
      return B921600;
    default:
      return B0;
  }
}

void set_nonblocking(int fd) {
  const int flags = fcntl(fd, F_GETFL);
  if (flags >= 0) fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

// VMIN=1/VTIME=0 on a non-blocking tty: an empty read says EAGAIN, so a read of 0 bytes reliably
// means the line was hung up (with VMIN=0 a spurious empty read would look the same as an unplug).
void set_vmin_one(int fd) {
  struct termios t {};
  if (tcgetattr(fd, &t) != 0) return;
  t.c_cc[VMIN] = 1;
  t.c_cc[VTIME] = 0;
  tcsetattr(fd, TCSANOW, &t);
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
  timer_ = new uv_timer_t;
  if (const int rc = uv_timer_init(loop, timer_); rc != 0) {
    delete timer_;
    timer_ = nullptr;
    return rc;
  }
  timer_->data = this;
  if (!try_open()) schedule_reopen();
  return 0;
}

void SerialPort::close() {
  if (closed_) return;
  closed_ = true;
  release_device();
  if (timer_ != nullptr) {
    uv_timer_stop(timer_);
    timer_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(timer_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
    timer_ = nullptr;
  }
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

int SerialPort::open_libserialport(const std::string& path, std::string& error_text) {
  sp_port* port = nullptr;
  if (sp_get_port_by_name(path.c_str(), &port) != SP_OK) {
    error_text = "sp_get_port_by_name failed";
    return -ENODEV;
  }
  auto fail = [&](const char* what) {
    char* msg = sp_last_error_message();
    error_text = std::string(what) + ": " + (msg ? msg : "?");
    if (msg) sp_free_error_message(msg);
    const int err = sp_last_error_code();
    sp_close(port);
    sp_free_port(port);
    return -(err > 0 ? err : EIO);
  };
  if (sp_open(port, SP_MODE_READ_WRITE) != SP_OK) {
    char* msg = sp_last_error_message();
    error_text = std::string("sp_open: ") + (msg ? msg : "?");
    if (msg) sp_free_error_message(msg);
    const int err = sp_last_error_code();
    sp_free_port(port);
    return -(err > 0 ? err : EIO);
  }
  if (sp_set_baudrate(port, options_.baud) != SP_OK) return fail("baud rate");
  if (sp_set_bits(port, options_.data_bits) != SP_OK) return fail("data bits");
  sp_parity parity = SP_PARITY_NONE;
  switch (options_.parity) {
    case Parity::none:
      parity = SP_PARITY_NONE;
      break;
    case Parity::odd:
      parity = SP_PARITY_ODD;
      break;
    case Parity::even:
      parity = SP_PARITY_EVEN;
      break;
    case Parity::mark:
      parity = SP_PARITY_MARK;
      break;
    case Parity::space:
      parity = SP_PARITY_SPACE;
      break;
  }
  if (sp_set_parity(port, parity) != SP_OK) return fail("parity");
  if (sp_set_stopbits(port, options_.stop_bits) != SP_OK) return fail("stop bits");
  sp_flowcontrol flow = SP_FLOWCONTROL_NONE;
  switch (options_.flow_control) {
    case FlowControl::none:
      flow = SP_FLOWCONTROL_NONE;
      break;
    case FlowControl::rtscts:
      flow = SP_FLOWCONTROL_RTSCTS;
      break;
    case FlowControl::xonxoff:
      flow = SP_FLOWCONTROL_XONXOFF;
      break;
  }
  if (sp_set_flowcontrol(port, flow) != SP_OK) return fail("flow control");
  int fd = -1;
  if (sp_get_port_handle(port, &fd) != SP_OK || fd < 0) return fail("port handle");
  set_nonblocking(fd);
  set_vmin_one(fd);
  sp_ = port;
  backend_ = "libserialport";
  return fd;
}

int SerialPort::open_termios(const std::string& path, std::string& error_text) {
  const int fd = ::open(path.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    error_text = describe_open_error(err, options_.device);
    return -err;
  }
  struct termios t {};
  if (tcgetattr(fd, &t) != 0) {
    const int err = errno;
    error_text = options_.device + ": not a terminal (" + std::strerror(err) + ")";
    ::close(fd);
    return -err;
  }
  cfmakeraw(&t);
  t.c_cflag |= CLOCAL | CREAD;
  t.c_cflag &= ~static_cast<tcflag_t>(CSIZE);
  switch (options_.data_bits) {
    case 5:
      t.c_cflag |= CS5;
      break;
    case 6:
      t.c_cflag |= CS6;
      break;
    case 7:
      t.c_cflag |= CS7;
      break;
    default:
      t.c_cflag |= CS8;
      break;
  }
  t.c_cflag &= ~static_cast<tcflag_t>(PARENB | PARODD | CMSPAR);
  switch (options_.parity) {
    case Parity::none:
      break;
    case Parity::odd:
      t.c_cflag |= PARENB | PARODD;
      break;
    case Parity::even:
      t.c_cflag |= PARENB;
      break;
    case Parity::mark:
      t.c_cflag |= PARENB | PARODD | CMSPAR;
      break;
    case Parity::space:
      t.c_cflag |= PARENB | CMSPAR;
      break;
  }
  if (options_.stop_bits == 2)
    t.c_cflag |= CSTOPB;
  else
    t.c_cflag &= ~static_cast<tcflag_t>(CSTOPB);
  t.c_cflag &= ~static_cast<tcflag_t>(CRTSCTS);
  t.c_iflag &= ~static_cast<tcflag_t>(IXON | IXOFF | IXANY);
  if (options_.flow_control == FlowControl::rtscts) t.c_cflag |= CRTSCTS;
  if (options_.flow_control == FlowControl::xonxoff) t.c_iflag |= IXON | IXOFF;
  t.c_cc[VMIN] = 1;  // see set_vmin_one
  t.c_cc[VTIME] = 0;
  if (const speed_t speed = termios_speed(options_.baud); speed != B0) {
    cfsetispeed(&t, speed);
    cfsetospeed(&t, speed);
  } else {
    MQTTSN_LOG(warning, "%s: baud rate %d has no termios constant; leaving the line speed as is",
               log_name_.c_str(), options_.baud);
  }
  if (tcsetattr(fd, TCSANOW, &t) != 0) {
    const int err = errno;
    error_text = options_.device + ": cannot set line settings (" + std::strerror(err) + ")";
    ::close(fd);
    return -err;
  }
  backend_ = "termios";
  return fd;
}

int SerialPort::open_tcp(std::string_view host_port, std::string& error_text) {
  std::string host;
  std::string port;
  if (!host_port.empty() && host_port.front() == '[') {  // [v6]:port
    const auto close_bracket = host_port.find(']');
    if (close_bracket == std::string_view::npos || close_bracket + 1 >= host_port.size() ||
        host_port[close_bracket + 1] != ':') {
      error_text = options_.device + ": expected tcp://[address]:port";
      return -EINVAL;
    }
    host = std::string(host_port.substr(1, close_bracket - 1));
    port = std::string(host_port.substr(close_bracket + 2));
  } else {
    const auto colon = host_port.rfind(':');
    if (colon == std::string_view::npos) {
      error_text = options_.device + ": expected tcp://host:port";
      return -EINVAL;
    }
    host = std::string(host_port.substr(0, colon));
    port = std::string(host_port.substr(colon + 1));
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  // Blocking resolution: acceptable for a configured host at open time (numeric hosts cost nothing).
  if (const int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    error_text = options_.device + ": cannot resolve (" + gai_strerror(rc) + ")";
    return -EHOSTUNREACH;
  }
  int err = EHOSTUNREACH;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      err = errno;
      continue;
    }
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc == 0 || errno == EINPROGRESS) {
      connecting_ = rc != 0;
      freeaddrinfo(res);
      backend_ = "tcp";
      return fd;
    }
    err = errno;
    ::close(fd);
  }
  freeaddrinfo(res);
  error_text = describe_open_error(err, options_.device);
  return -err;
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
    sp_close(sp_);  // closes fd_
    sp_free_port(sp_);
    sp_ = nullptr;
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
    if ((events & UV_WRITABLE) == 0) return;
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      release_device();
      open_failed(err, describe_open_error(err, options_.device));
      schedule_reopen();
      return;
    }
    connecting_ = false;
    update_poll_events();
    became_open();
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
