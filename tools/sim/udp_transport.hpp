#pragma once
// The simulated nodes over plain MQTT-SN/UDP: one socket per node (so the gateway sees one address
// per client, as with real devices), all sending to the gateway's HOST:PORT. "Broadcast" datagrams
// (SEARCHGW) are sent to the gateway address too: the simulator does not join a multicast group.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <uv.h>

#include "tools/sim/node_transport.hpp"

namespace mqttsn::sim {

// Parses "HOST:PORT", "[IPv6]:PORT" and resolves it (numeric or by name). False with `error` set.
bool resolve_host_port(const std::string& text, sockaddr_storage& out, std::string& error);

class UdpTransport final : public NodeTransport {
 public:
  UdpTransport(uv_loop_t* loop, std::size_t nodes);
  ~UdpTransport() override;
  UdpTransport(const UdpTransport&) = delete;
  UdpTransport& operator=(const UdpTransport&) = delete;

  // Binds one ephemeral-port socket per node (same address family as the gateway) and starts
  // receiving. Datagrams from any address other than the gateway's are counted and dropped.
  bool open(const sockaddr_storage& gateway, std::string& error);

  void set_receiver(Receiver r) override { receiver_ = std::move(r); }
  void send(std::size_t node, const Datagram& d) override;
  void close() override;

  std::uint16_t local_port(std::size_t node) const;
  std::uint64_t foreign_datagrams() const { return foreign_; }
  std::uint64_t send_errors() const { return send_errors_; }

 private:
  struct Socket;
  static void on_alloc(uv_handle_t* h, std::size_t suggested, uv_buf_t* buf);
  static void on_recv(uv_udp_t* h, ssize_t nread, const uv_buf_t* buf, const sockaddr* addr, unsigned flags);
  bool from_gateway(const sockaddr* addr) const;

  uv_loop_t* loop_;
  std::size_t count_;
  sockaddr_storage gateway_{};
  std::vector<Socket*> sockets_;  // owned until their uv_close callback
  std::vector<std::uint8_t> recv_buf_;
  Receiver receiver_;
  std::uint64_t foreign_ = 0;
  std::uint64_t send_errors_ = 0;
};

}  // namespace mqttsn::sim
