#pragma once
// A Link over one UDP socket (IPv4 or IPv6) on the libuv loop. Each datagram is one MQTT-SN
// message; the sender's ip:port is the node's address. ADVERTISE/GWINFO go to a configured
// broadcast or multicast address (joined for receiving, so SEARCHGW sent there arrives too).
#include <cstdint>
#include <memory>
#include <string>

#include <netinet/in.h>

#include "radio/link.hpp"

namespace mqttsn::radio {

struct UdpLinkOptions {
  std::string bind_address = "0.0.0.0";  // "::" for IPv6 (dual stack unless ipv6_only)
  std::uint16_t port = 1883;             // 0 = any (tests; see local_port())
  std::string broadcast_address;         // "" = none: broadcast() returns false
  std::uint16_t broadcast_port = 0;      // 0 = same as the bound port
  std::string multicast_interface;       // optional interface address for multicast
  int multicast_ttl = 1;
  bool ipv6_only = false;
  std::size_t max_datagram = 1024;  // larger datagrams in are dropped, out are refused
  // SO_RCVBUFFORCE (CAP_NET_ADMIN), else SO_RCVBUF (capped at net.core.rmem_max); 0 = the default.
  int receive_buffer_bytes = 0;
  std::size_t max_queued_sends = 1024;  // sends waiting for a full socket buffer
};

class UdpLink final : public Link {
 public:
  UdpLink(std::uint8_t index, UdpLinkOptions options, LinkCallbacks callbacks);
  ~UdpLink() override;

  std::string_view name() const override { return "udp"; }
  int start(uv_loop_t* loop) override;
  void close() override;
  bool send(const LinkAddress& to, Bytes datagram) override;
  bool broadcast(Bytes datagram, std::uint8_t radius) override;
  std::size_t max_payload() const override { return options_.max_datagram; }
  // Also reads the kernel's drop counter of the socket (datagrams lost to a full receive buffer).
  const LinkStats& stats() const override;
  bool is_up() const override { return handle_ != nullptr; }

  std::uint16_t local_port() const;  // the bound port (useful with port 0)
  int receive_buffer_size() const;   // as the kernel reports it (Linux doubles the request)

  // Conversions between socket addresses and LinkAddress (IPv4-mapped IPv6 becomes udp4).
  static LinkAddress to_link_address(std::uint8_t link, const sockaddr* sa);
  // False if the address kind does not fit; `v6_socket` maps udp4 into ::ffff:a.b.c.d.
  static bool to_sockaddr(const LinkAddress& a, bool v6_socket, sockaddr_storage& out);

 private:
  bool send_to(const sockaddr* dest, Bytes datagram);
  void on_receive(ssize_t nread, const uv_buf_t* buf, const sockaddr* addr, unsigned flags);
  void set_receive_buffer();

  static void alloc_cb(uv_handle_t* handle, std::size_t suggested, uv_buf_t* buf);
  static void recv_cb(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buf, const sockaddr* addr,
                      unsigned flags);

  UdpLinkOptions options_;
  LinkCallbacks callbacks_;
  uv_udp_t* handle_ = nullptr;
  bool v6_ = false;
  bool has_broadcast_ = false;
  sockaddr_storage broadcast_dest_{};
  // recvmmsg(2) fills one 64 KiB slot per datagram (libuv's layout); allocated without zeroing, so
  // only the pages datagrams land in (one per slot) become resident.
  std::unique_ptr<std::uint8_t[]> receive_slots_;
  mutable LinkStats stats_;
};

}  // namespace mqttsn::radio
