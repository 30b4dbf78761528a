#pragma once
// The simulated nodes over DTLS 1.2: one UDP socket per node (a UdpTransport underneath) and one DTLS
// client each. A node's first datagram starts its handshake; what it sends meanwhile waits and goes
// once the association is up. An association the gateway ends is made again at the next send,
// resuming the earlier session (ticket). SEARCHGW (broadcast) goes in clear: discovery is not DTLS.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <uv.h>

#include "radio/dtls_client.hpp"
#include "tools/sim/node_transport.hpp"
#include "tools/sim/udp_transport.hpp"

namespace mqttsn::sim {

struct DtlsTransportStats {
  std::uint64_t handshakes = 0;  // finished
  std::uint64_t resumed = 0;
  std::uint64_t failures = 0;
  std::uint64_t dropped = 0;  // datagrams a failed handshake left unsent
};

// The client contexts for `nodes` nodes: a PSK "IDENTITY:HEXKEY" (a %n in the identity makes one
// context per node, with its number) and/or a certificate and key; `ca` verifies the gateway. Empty
// with `error` set on bad input.
std::vector<std::shared_ptr<radio::DtlsClientContext>> make_dtls_contexts(
    const std::string& psk, const std::string& cert, const std::string& key, const std::string& ca,
    std::size_t nodes, std::string& error);

class DtlsTransport final : public NodeTransport {
 public:
  // `contexts`: one for every node, or a single one they all share.
  DtlsTransport(uv_loop_t* loop, std::vector<std::shared_ptr<radio::DtlsClientContext>> contexts,
                std::size_t nodes);
  ~DtlsTransport() override;
  DtlsTransport(const DtlsTransport&) = delete;
  DtlsTransport& operator=(const DtlsTransport&) = delete;

  bool open(const sockaddr_storage& gateway, std::string& error);
  void set_receiver(Receiver r) override { receiver_ = std::move(r); }
  void send(std::size_t node, const Datagram& d) override;
  void close() override;

  bool established(std::size_t node) const;
  std::uint16_t local_port(std::size_t node) const { return udp_.local_port(node); }
  const DtlsTransportStats& stats() const { return stats_; }

 private:
  struct Node;
  void after_input(std::size_t node);
  void on_tick();

  uv_loop_t* loop_;
  UdpTransport udp_;
  std::vector<std::unique_ptr<Node>> nodes_;
  uv_timer_t* timer_ = nullptr;
  Receiver receiver_;
  DtlsTransportStats stats_;
};

}  // namespace mqttsn::sim
