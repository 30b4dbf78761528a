#include "radio/udp_link.hpp"

#include <arpa/inet.h>
#include <linux/sock_diag.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "gateway/core/log.hpp"

namespace mqttsn::radio {

namespace {

// A send that could not go out at once (socket buffer full): owns a copy of the bytes.
struct QueuedSend {
  uv_udp_send_t req{};
  std::vector<std::uint8_t> data;
};

bool parse_ip(const std::string& text, std::uint16_t port, sockaddr_storage& out) {
  std::memset(&out, 0, sizeof out);
  if (text.find(':') != std::string::npos)
    return uv_ip6_addr(text.c_str(), port, reinterpret_cast<sockaddr_in6*>(&out)) == 0;
  return uv_ip4_addr(text.c_str(), port, reinterpret_cast<sockaddr_in*>(&out)) == 0;
}

// libuv's recvmmsg layout: one datagram per 64 KiB slot, at most 20 per call (UV__MMSG_MAXWIDTH).
constexpr std::size_t kSlotSize = 64 * 1024;
constexpr std::size_t kSlots = 20;

bool is_multicast(const sockaddr_storage& a) {
  if (a.ss_family == AF_INET)
    return IN_MULTICAST(ntohl(reinterpret_cast<const sockaddr_in*>(&a)->sin_addr.s_addr));
  return IN6_IS_ADDR_MULTICAST(&reinterpret_cast<const sockaddr_in6*>(&a)->sin6_addr);
}

}  // namespace

UdpLink::UdpLink(std::uint8_t index, UdpLinkOptions options, LinkCallbacks callbacks)
    : Link(index), options_(std::move(options)), callbacks_(std::move(callbacks)) {}

UdpLink::~UdpLink() {
  close();
}

int UdpLink::start(uv_loop_t* loop) {
  sockaddr_storage bind_addr{};
  if (!parse_ip(options_.bind_address, options_.port, bind_addr)) {
    MQTTSN_LOG(error, "udp: bind address '%s' is not an IPv4 or IPv6 address", options_.bind_address.c_str());
    return UV_EINVAL;
  }
  v6_ = bind_addr.ss_family == AF_INET6;
  const std::uint16_t bport = options_.broadcast_port != 0 ? options_.broadcast_port : options_.port;
  if (!options_.broadcast_address.empty()) {
    if (!parse_ip(options_.broadcast_address, bport, broadcast_dest_) ||
        (broadcast_dest_.ss_family == AF_INET6) != v6_) {
      MQTTSN_LOG(error, "udp: broadcast address '%s' is not an %s address",
                 options_.broadcast_address.c_str(), v6_ ? "IPv6" : "IPv4");
      return UV_EINVAL;
    }
    has_broadcast_ = true;
  }

  handle_ = new uv_udp_t;
  // RECVMMSG: each poll wake-up drains up to kSlots datagrams per system call instead of one.
  if (const int rc = uv_udp_init_ex(loop, handle_, AF_UNSPEC | UV_UDP_RECVMMSG); rc != 0) {
    delete handle_;
    handle_ = nullptr;
    return rc;
  }
  handle_->data = this;
  unsigned flags = 0;
  if (has_broadcast_ && is_multicast(broadcast_dest_)) flags |= UV_UDP_REUSEADDR;
  if (v6_ && options_.ipv6_only) flags |= UV_UDP_IPV6ONLY;
  int rc = uv_udp_bind(handle_, reinterpret_cast<const sockaddr*>(&bind_addr), flags);
  if (rc == 0 && options_.receive_buffer_bytes > 0) set_receive_buffer();
  if (!receive_slots_) receive_slots_ = std::make_unique_for_overwrite<std::uint8_t[]>(kSlotSize * kSlots);
  if (rc == 0 && has_broadcast_) {
    if (is_multicast(broadcast_dest_)) {
      const std::string group = options_.broadcast_address;
      const char* iface =
          options_.multicast_interface.empty() ? nullptr : options_.multicast_interface.c_str();
      rc = uv_udp_set_membership(handle_, group.c_str(), iface, UV_JOIN_GROUP);
      if (rc == 0) rc = uv_udp_set_multicast_ttl(handle_, options_.multicast_ttl);
      if (rc == 0 && iface != nullptr) rc = uv_udp_set_multicast_interface(handle_, iface);
    } else if (!v6_) {
      rc = uv_udp_set_broadcast(handle_, 1);
    }
  }
  if (rc == 0) rc = uv_udp_recv_start(handle_, alloc_cb, recv_cb);
  if (rc != 0) {
    MQTTSN_LOG(error, "udp: cannot listen on %s port %u: %s", options_.bind_address.c_str(), options_.port,
               uv_strerror(rc));
    close();
    return rc;
  }
  MQTTSN_LOG(info, "udp: link %u listening on %s port %u%s%s", index_, options_.bind_address.c_str(),
             local_port(), has_broadcast_ ? ", broadcasts to " : "", options_.broadcast_address.c_str());
  return 0;
}

void UdpLink::close() {
  if (handle_ == nullptr) return;
  uv_udp_recv_stop(handle_);
  handle_->data = nullptr;  // queued sends complete (cancelled) without touching this object
  uv_close(reinterpret_cast<uv_handle_t*>(handle_),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_udp_t*>(h); });
  handle_ = nullptr;
}

std::uint16_t UdpLink::local_port() const {
  if (handle_ == nullptr) return 0;
  sockaddr_storage a{};
  int len = sizeof a;
  if (uv_udp_getsockname(handle_, reinterpret_cast<sockaddr*>(&a), &len) != 0) return 0;
  if (a.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&a)->sin_port);
  return ntohs(reinterpret_cast<sockaddr_in6*>(&a)->sin6_port);
}

void UdpLink::set_receive_buffer() {
  uv_os_fd_t fd = -1;
  if (uv_fileno(reinterpret_cast<uv_handle_t*>(handle_), &fd) != 0) return;
  const int want = options_.receive_buffer_bytes;
  // FORCE passes net.core.rmem_max but needs CAP_NET_ADMIN; without it the plain request is capped.
  const bool forced = ::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof want) == 0;
  if (!forced) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof want);
  const int got = receive_buffer_size() / 2;  // Linux reports twice the usable size it granted
  // Notice, not warning: the packaged unit has no CAP_NET_ADMIN, and a stock rmem_max (208 KiB) caps
  // the default 2M on every start; the message says how to get the rest.
  if (got < want)
    MQTTSN_LOG(notice,
               "udp: link %u receive buffer %d bytes, asked %d: capped by net.core.rmem_max (raise it, or "
               "grant CAP_NET_ADMIN)",
               index_, got, want);
  else
    MQTTSN_LOG(info, "udp: link %u receive buffer %d bytes%s", index_, got, forced ? " (forced)" : "");
}

const LinkStats& UdpLink::stats() const {
  uv_os_fd_t fd = -1;
  if (handle_ != nullptr && uv_fileno(reinterpret_cast<const uv_handle_t*>(handle_), &fd) == 0) {
    std::uint32_t info[SK_MEMINFO_VARS] = {};
    socklen_t len = sizeof info;
    // The socket's own drop counter (what /proc/net/udp shows as "drops"), counted since it opened.
    if (::getsockopt(fd, SOL_SOCKET, SO_MEMINFO, info, &len) == 0 && len > SK_MEMINFO_DROPS * sizeof info[0])
      stats_.receive_buffer_drops = info[SK_MEMINFO_DROPS];
  }
  return stats_;
}

int UdpLink::receive_buffer_size() const {
  if (handle_ == nullptr) return 0;
  int size = 0;  // 0 = query
  uv_recv_buffer_size(reinterpret_cast<uv_handle_t*>(handle_), &size);
  return size;
}

LinkAddress UdpLink::to_link_address(std::uint8_t link, const sockaddr* sa) {
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    std::array<std::uint8_t, 4> ip{};
    std::memcpy(ip.data(), &in->sin_addr, 4);
    return LinkAddress::udp4(link, ip, ntohs(in->sin_port));
  }
  const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
  if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
    std::array<std::uint8_t, 4> ip{};
    std::memcpy(ip.data(), reinterpret_cast<const std::uint8_t*>(&in6->sin6_addr) + 12, 4);
    return LinkAddress::udp4(link, ip, ntohs(in6->sin6_port));
  }
  std::array<std::uint8_t, 16> ip{};
  std::memcpy(ip.data(), &in6->sin6_addr, 16);
  return LinkAddress::udp6(link, ip, ntohs(in6->sin6_port));
}

bool UdpLink::to_sockaddr(const LinkAddress& a, bool v6_socket, sockaddr_storage& out) {
  std::memset(&out, 0, sizeof out);
  if (a.kind == AddressKind::udp4 && !v6_socket) {
    auto* in = reinterpret_cast<sockaddr_in*>(&out);
    in->sin_family = AF_INET;
    std::memcpy(&in->sin_addr, a.bytes.data(), 4);
    in->sin_port = htons(a.port());
    return true;
  }
  if (!v6_socket) return false;
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&out);
  in6->sin6_family = AF_INET6;
  in6->sin6_port = htons(a.port());
  auto* b = reinterpret_cast<std::uint8_t*>(&in6->sin6_addr);
  if (a.kind == AddressKind::udp4) {
    b[10] = 0xFF;
    b[11] = 0xFF;
    std::memcpy(b + 12, a.bytes.data(), 4);
    return true;
  }
  if (a.kind != AddressKind::udp6) return false;
  std::memcpy(b, a.bytes.data(), 16);
  return true;
}

bool UdpLink::send(const LinkAddress& to, Bytes datagram) {
  sockaddr_storage dest{};
  if (to.link != index_ || !to_sockaddr(to, v6_, dest)) {
    MQTTSN_LOG(warning, "udp: link %u cannot send to %s", index_, to.to_string().c_str());
    return false;
  }
  if (!send_to(reinterpret_cast<const sockaddr*>(&dest), datagram)) return false;
  ++stats_.datagrams_out;
  return true;
}

bool UdpLink::broadcast(Bytes datagram, std::uint8_t /*radius*/) {
  if (!has_broadcast_) return false;
  if (!send_to(reinterpret_cast<const sockaddr*>(&broadcast_dest_), datagram)) return false;
  ++stats_.broadcasts_out;
  return true;
}

bool UdpLink::send_to(const sockaddr* dest, Bytes datagram) {
  if (handle_ == nullptr) {
    ++stats_.not_open_drops;
    return false;
  }
  if (datagram.size() > options_.max_datagram) {
    ++stats_.oversize_refused;
    MQTTSN_LOG(warning, "udp: datagram of %zu octets exceeds the max datagram %zu: not sent", datagram.size(),
               options_.max_datagram);
    return false;
  }
  uv_buf_t buf = uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(datagram.data())),
                             static_cast<unsigned>(datagram.size()));
  const int rc = uv_udp_try_send(handle_, &buf, 1, dest);
  if (rc >= 0) {
    ++stats_.frames_out;
    stats_.bytes_out += datagram.size();
    return true;
  }
  if (rc != UV_EAGAIN) {
    ++stats_.tx_failures;
    MQTTSN_LOG(debug, "udp: send failed: %s", uv_strerror(rc));
    return false;
  }
  // Socket buffer full: queue a copy, bounded.
  if (uv_udp_get_send_queue_count(handle_) >= options_.max_queued_sends) {
    ++stats_.queue_full_drops;
    return false;
  }
  auto* q = new QueuedSend;
  q->data.assign(datagram.begin(), datagram.end());
  buf = uv_buf_init(reinterpret_cast<char*>(q->data.data()), static_cast<unsigned>(q->data.size()));
  const int qrc = uv_udp_send(&q->req, handle_, &buf, 1, dest, [](uv_udp_send_t* req, int status) {
    auto* done = reinterpret_cast<QueuedSend*>(req);
    if (auto* self = static_cast<UdpLink*>(req->handle->data)) {
      if (status < 0)
        ++self->stats_.tx_failures;
      else
        self->stats_.bytes_out += done->data.size();
    }
    delete done;
  });
  if (qrc != 0) {
    delete q;
    ++stats_.tx_failures;
    return false;
  }
  ++stats_.frames_out;
  return true;
}

void UdpLink::alloc_cb(uv_handle_t* handle, std::size_t /*suggested*/, uv_buf_t* buf) {
  auto* self = static_cast<UdpLink*>(handle->data);
  if (self == nullptr) {
    *buf = uv_buf_init(nullptr, 0);
    return;
  }
  *buf = uv_buf_init(reinterpret_cast<char*>(self->receive_slots_.get()),
                     static_cast<unsigned>(kSlotSize * kSlots));
}

void UdpLink::recv_cb(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buf, const sockaddr* addr,
                      unsigned flags) {
  if (auto* self = static_cast<UdpLink*>(handle->data)) self->on_receive(nread, buf, addr, flags);
}

void UdpLink::on_receive(ssize_t nread, const uv_buf_t* buf, const sockaddr* addr, unsigned flags) {
  if (nread < 0) {
    ++stats_.malformed_frames;
    MQTTSN_LOG(debug, "udp: receive error: %s", uv_strerror(static_cast<int>(nread)));
    return;
  }
  if (addr == nullptr) return;  // nothing more to read, or the end of a recvmmsg batch
  ++stats_.frames_in;
  stats_.bytes_in += static_cast<std::uint64_t>(nread);
  const auto size = static_cast<std::size_t>(nread);
  if ((flags & UV_UDP_PARTIAL) != 0 || size > options_.max_datagram) {
    ++stats_.oversize_dropped;
    MQTTSN_LOG(debug, "udp: datagram of %zu octets over the max %zu dropped", size, options_.max_datagram);
    return;
  }
  if (size == 0) {
    ++stats_.malformed_frames;
    return;
  }
  ++stats_.datagrams_in;
  if (callbacks_.on_datagram)
    callbacks_.on_datagram(to_link_address(index_, addr),
                           Bytes(reinterpret_cast<const std::uint8_t*>(buf->base), size));
}

}  // namespace mqttsn::radio
