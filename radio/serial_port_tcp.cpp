// The back end for "tcp://host:port" (ser2net and friends): a non-blocking TCP socket, connected in
// the background; the port counts as open once the connect completed.
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <string_view>

#include "radio/serial_port.hpp"

namespace mqttsn::radio {

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

// The socket became writable: the connect finished, one way or the other.
void SerialPort::finish_tcp_connect() {
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
}

}  // namespace mqttsn::radio
