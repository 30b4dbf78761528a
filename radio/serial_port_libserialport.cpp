// The back end for real serial devices: libserialport sets the line (it knows each platform's
// ioctls for baud rates and flow control), and the loop then polls its file descriptor like any other.
#include <fcntl.h>
#include <libserialport.h>
#include <termios.h>

#include <cerrno>
#include <string>

#include "radio/serial_port.hpp"

namespace mqttsn::radio {

namespace {

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

void SerialPort::close_libserialport() {
  sp_close(sp_);  // closes fd_
  sp_free_port(sp_);
  sp_ = nullptr;
}

}  // namespace mqttsn::radio
