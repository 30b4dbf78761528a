// The back end for pseudo-terminals (a simulator, socat), and for devices libserialport fails on:
// Debian's libserialport 0.1.1 refuses ptys (no /sys/class/tty entry, and its modem-control ioctl
// fails), so the line is set with plain termios.
#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "gateway/core/log.hpp"
#include "radio/serial_port.hpp"

namespace mqttsn::radio {

namespace {

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

}  // namespace

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
  t.c_cc[VMIN] = 1;  // see set_vmin_one in serial_port_libserialport.cpp
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

}  // namespace mqttsn::radio
