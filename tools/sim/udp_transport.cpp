#include "tools/sim/udp_transport.hpp"

#include <arpa/inet.h>
#include <netdb.h>

#include <cstring>

namespace mqttsn::sim {

struct UdpTransport::Socket {
  uv_udp_t handle{};
  UdpTransport* owner = nullptr;
  std::size_t index = 0;
};

namespace {

struct SendRequest {
  uv_udp_send_t req{};
  std::vector<std::uint8_t> bytes;
};

}  // namespace

bool resolve_host_port(const std::string& text, sockaddr_storage& out, std::string& error) {
  std::string host, port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      error = "expected [IPv6]:PORT, got '" + text + "'";
      return false;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos) {
      error = "expected HOST:PORT, got '" + text + "'";
      return false;
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_family = AF_UNSPEC;
  addrinfo* res = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0 || !res) {
    error = "cannot resolve '" + text + "': " + ::gai_strerror(rc);
    return false;
  }
  std::memset(&out, 0, sizeof out);
  std::memcpy(&out, res->ai_addr, res->ai_addrlen);
  ::freeaddrinfo(res);
  return true;
}

UdpTransport::UdpTransport(uv_loop_t* loop, std::size_t nodes)
    : loop_(loop), count_(nodes), recv_buf_(65536) {}

UdpTransport::~UdpTransport() {
  close();
}

bool UdpTransport::open(const sockaddr_storage& gateway, std::string& error) {
  gateway_ = gateway;
  sockaddr_storage any{};
  if (gateway.ss_family == AF_INET6) {
    uv_ip6_addr("::", 0, reinterpret_cast<sockaddr_in6*>(&any));
  } else {
    uv_ip4_addr("0.0.0.0", 0, reinterpret_cast<sockaddr_in*>(&any));
  }
  for (std::size_t i = 0; i < count_; ++i) {
    auto* s = new Socket;
    s->owner = this;
    s->index = i;
    s->handle.data = s;
    if (int rc = uv_udp_init(loop_, &s->handle); rc != 0) {
      delete s;
      error = std::string("uv_udp_init: ") + uv_strerror(rc);
      close();
      return false;
    }
    sockets_.push_back(s);
    if (int rc = uv_udp_bind(&s->handle, reinterpret_cast<const sockaddr*>(&any), 0); rc != 0) {
      error = std::string("bind: ") + uv_strerror(rc);
      close();
      return false;
    }
    if (int rc = uv_udp_recv_start(&s->handle, &UdpTransport::on_alloc, &UdpTransport::on_recv); rc != 0) {
      error = std::string("recv_start: ") + uv_strerror(rc);
      close();
      return false;
    }
  }
  return true;
}

std::uint16_t UdpTransport::local_port(std::size_t node) const {
  if (node >= sockets_.size()) return 0;
  sockaddr_storage name{};
  int len = sizeof name;
  if (uv_udp_getsockname(&sockets_[node]->handle, reinterpret_cast<sockaddr*>(&name), &len) != 0) return 0;
  if (name.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&name)->sin6_port);
  return ntohs(reinterpret_cast<sockaddr_in*>(&name)->sin_port);
}

void UdpTransport::on_alloc(uv_handle_t* h, std::size_t, uv_buf_t* buf) {
  // One loop thread, one datagram at a time: every socket shares the owner's buffer.
  auto* s = static_cast<Socket*>(h->data);
  auto& b = s->owner->recv_buf_;
  *buf = uv_buf_init(reinterpret_cast<char*>(b.data()), static_cast<unsigned>(b.size()));
}

bool UdpTransport::from_gateway(const sockaddr* addr) const {
  if (addr->sa_family != gateway_.ss_family) return false;
  if (addr->sa_family == AF_INET) {
    auto* a = reinterpret_cast<const sockaddr_in*>(addr);
    auto* g = reinterpret_cast<const sockaddr_in*>(&gateway_);
    return a->sin_port == g->sin_port && a->sin_addr.s_addr == g->sin_addr.s_addr;
  }
  auto* a = reinterpret_cast<const sockaddr_in6*>(addr);
  auto* g = reinterpret_cast<const sockaddr_in6*>(&gateway_);
  return a->sin6_port == g->sin6_port && std::memcmp(&a->sin6_addr, &g->sin6_addr, sizeof a->sin6_addr) == 0;
}

void UdpTransport::on_recv(uv_udp_t* h, ssize_t nread, const uv_buf_t* buf, const sockaddr* addr,
                           unsigned flags) {
  auto* s = static_cast<Socket*>(h->data);
  UdpTransport* self = s->owner;
  if (nread <= 0 || !addr) return;  // nothing, or a transient socket error (e.g. ICMP unreachable)
  if ((flags & UV_UDP_PARTIAL) || !self->from_gateway(addr)) {
    ++self->foreign_;
    return;
  }
  if (self->receiver_)
    self->receiver_(s->index,
                    Bytes(reinterpret_cast<const std::uint8_t*>(buf->base), static_cast<std::size_t>(nread)));
}

void UdpTransport::send(std::size_t node, const Datagram& d) {
  if (node >= sockets_.size()) return;
  uv_udp_t* h = &sockets_[node]->handle;
  uv_buf_t b = uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(d.bytes.data())),
                           static_cast<unsigned>(d.bytes.size()));
  const auto* to = reinterpret_cast<const sockaddr*>(&gateway_);
  int rc = uv_udp_try_send(h, &b, 1, to);
  if (rc >= 0) return;
  if (rc != UV_EAGAIN && rc != UV_ENOSYS) {
    ++send_errors_;  // e.g. ECONNREFUSED after an ICMP port unreachable: the node retries on T_RETRY
    return;
  }
  auto* req = new SendRequest;
  req->bytes = d.bytes;
  req->req.data = req;
  b = uv_buf_init(reinterpret_cast<char*>(req->bytes.data()), static_cast<unsigned>(req->bytes.size()));
  rc = uv_udp_send(&req->req, h, &b, 1, to,
                   [](uv_udp_send_t* r, int) { delete static_cast<SendRequest*>(r->data); });
  if (rc != 0) {
    ++send_errors_;
    delete req;
  }
}

void UdpTransport::close() {
  for (Socket* s : sockets_) {
    uv_udp_recv_stop(&s->handle);
    uv_close(reinterpret_cast<uv_handle_t*>(&s->handle),
             [](uv_handle_t* h) { delete static_cast<Socket*>(h->data); });
  }
  sockets_.clear();
}

}  // namespace mqttsn::sim
