#pragma once
// A node speaking DTLS to a link on 127.0.0.1: a plain non-blocking socket and a DtlsClient. pump()
// feeds what arrived to the client and runs its retransmission timer; call it from run_until's
// predicate, the link and the node then share one thread.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "radio/dtls_client.hpp"

namespace radio_test {

inline sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  return a;
}

// A bare socket on 127.0.0.1 (ephemeral port), for raw and spoofed datagrams.
struct RawSocket {
  int fd = -1;
  RawSocket() {
    fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    const sockaddr_in a = loopback(0);
    ::bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a);
  }
  ~RawSocket() {
    if (fd >= 0) ::close(fd);
  }
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;
  std::uint16_t port() const {
    sockaddr_in a{};
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    return ntohs(a.sin_port);
  }
  void send_to(std::uint16_t port, std::span<const std::uint8_t> d) const {
    const sockaddr_in a = loopback(port);
    ::sendto(fd, d.data(), d.size(), 0, reinterpret_cast<const sockaddr*>(&a), sizeof a);
  }
  bool receive(std::vector<std::uint8_t>& out) const {
    std::uint8_t buf[65536];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0) return false;
    out.assign(buf, buf + n);
    return true;
  }
};

struct DtlsNode {
  RawSocket socket;
  std::uint16_t gateway_port;
  std::vector<std::vector<std::uint8_t>> received;  // plaintext datagrams
  std::vector<std::vector<std::uint8_t>> records;   // every datagram the client sent
  mqttsn::radio::DtlsClient client;

  DtlsNode(std::uint16_t port, std::shared_ptr<mqttsn::radio::DtlsClientContext> context)
      : gateway_port(port),
        client(
            std::move(context),
            [this](std::span<const std::uint8_t> d) {
              records.emplace_back(d.begin(), d.end());
              socket.send_to(gateway_port, d);
            },
            [this](std::span<const std::uint8_t> d) { received.emplace_back(d.begin(), d.end()); }) {}

  void pump() {
    std::vector<std::uint8_t> d;
    while (socket.receive(d)) client.on_datagram(d);
    client.on_tick();
  }
};

inline std::shared_ptr<mqttsn::radio::DtlsClientContext> psk_context(const std::string& identity,
                                                                     std::vector<std::uint8_t> key) {
  mqttsn::radio::DtlsClientOptions o;
  o.psk_identity = identity;
  o.psk_key = std::move(key);
  std::string error;
  return mqttsn::radio::DtlsClientContext::make(o, error);
}

}  // namespace radio_test
