// The UDP link on real sockets, IPv4 (127.0.0.1) and IPv6 (::1).
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "radio/udp_link.hpp"
#include "radio_test_support.hpp"

using namespace mqttsn::radio;
using mqttsn::LinkAddress;
using radio_test::ByteVec;
using radio_test::Loop;
using radio_test::run_until;

namespace {

// A plain non-blocking socket playing a node.
struct Node {
  int fd = -1;
  int family;
  explicit Node(int fam) : family(fam) {
    fd = ::socket(fam, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    sockaddr_storage a{};
    socklen_t len = 0;
    if (fam == AF_INET) {
      auto* in = reinterpret_cast<sockaddr_in*>(&a);
      in->sin_family = AF_INET;
      in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      len = sizeof(sockaddr_in);
    } else {
      auto* in6 = reinterpret_cast<sockaddr_in6*>(&a);
      in6->sin6_family = AF_INET6;
      in6->sin6_addr = in6addr_loopback;
      len = sizeof(sockaddr_in6);
    }
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), len) != 0) {
      ::close(fd);
      fd = -1;
    }
  }
  ~Node() {
    if (fd >= 0) ::close(fd);
  }
  std::uint16_t port() const {
    sockaddr_storage a{};
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    return ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in*>(&a)->sin_port
                                   : reinterpret_cast<sockaddr_in6*>(&a)->sin6_port);
  }
  void send_to(std::uint16_t port, const ByteVec& data) const {
    sockaddr_storage a{};
    socklen_t len = 0;
    if (family == AF_INET) {
      auto* in = reinterpret_cast<sockaddr_in*>(&a);
      in->sin_family = AF_INET;
      in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      in->sin_port = htons(port);
      len = sizeof(sockaddr_in);
    } else {
      auto* in6 = reinterpret_cast<sockaddr_in6*>(&a);
      in6->sin6_family = AF_INET6;
      in6->sin6_addr = in6addr_loopback;
      in6->sin6_port = htons(port);
      len = sizeof(sockaddr_in6);
    }
    REQUIRE(::sendto(fd, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&a), len) ==
            static_cast<ssize_t>(data.size()));
  }
  bool receive(ByteVec& out) const {
    std::uint8_t buf[2048];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0) return false;
    out.assign(buf, buf + n);
    return true;
  }
};

void exercise(int family, const char* loopback) {
  Node node(family);
  if (node.fd < 0) {
    MESSAGE("no " << loopback << " on this machine: skipped");
    return;
  }
  Loop loop;
  std::vector<std::pair<LinkAddress, ByteVec>> received;
  UdpLinkOptions o;
  o.bind_address = loopback;
  o.port = 0;
  o.max_datagram = 64;
  o.receive_buffer_bytes = 256 * 1024;
  o.broadcast_address = loopback;  // stands in for a broadcast/multicast group
  o.broadcast_port = node.port();
  UdpLink link(4, o,
               LinkCallbacks{[&](const LinkAddress& from, mqttsn::Bytes d) {
                               received.emplace_back(from, ByteVec(d.begin(), d.end()));
                             },
                             {}});
  REQUIRE(link.start(loop.get()) == 0);
  REQUIRE(link.local_port() != 0);
  CHECK(link.receive_buffer_size() >= 256 * 1024);

  const ByteVec searchgw = {0x03, 0x01, 0x01};
  node.send_to(link.local_port(), searchgw);
  REQUIRE(run_until(loop.get(), [&] { return received.size() == 1; }));
  const LinkAddress from = received[0].first;
  CHECK(received[0].second == searchgw);
  CHECK(from.link == 4);
  CHECK(from.kind == (family == AF_INET ? mqttsn::AddressKind::udp4 : mqttsn::AddressKind::udp6));
  CHECK(from.port() == node.port());

  // Reply to the sender's address, and broadcast to the configured destination.
  const ByteVec gwinfo = {0x03, 0x02, 0x01};
  CHECK(link.send(from, gwinfo));
  ByteVec got;
  REQUIRE(run_until(loop.get(), [&] { return node.receive(got); }));
  CHECK(got == gwinfo);
  const ByteVec advertise = {0x05, 0x00, 0x01, 0x03, 0x84};
  CHECK(link.broadcast(advertise, 0));
  REQUIRE(run_until(loop.get(), [&] { return node.receive(got); }));
  CHECK(got == advertise);

  // Datagrams over the maximum: dropped in, refused out; both counted.
  node.send_to(link.local_port(), ByteVec(65, 0x41));
  node.send_to(link.local_port(), searchgw);
  REQUIRE(run_until(loop.get(), [&] { return received.size() == 2; }));
  CHECK(link.stats().oversize_dropped == 1);
  CHECK_FALSE(link.send(from, ByteVec(65, 0x41)));
  CHECK(link.stats().oversize_refused == 1);
  CHECK(link.stats().datagrams_in == 2);
  CHECK(link.stats().datagrams_out == 1);
  CHECK(link.stats().broadcasts_out == 1);
  link.close();
}

}  // namespace

TEST_CASE("udp link on 127.0.0.1") {
  exercise(AF_INET, "127.0.0.1");
}

TEST_CASE("udp link on ::1") {
  exercise(AF_INET6, "::1");
}

TEST_CASE("udp link: no broadcast address means broadcast() is false, addresses convert") {
  Loop loop;
  UdpLinkOptions o;
  o.bind_address = "127.0.0.1";
  o.port = 0;
  UdpLink link(0, o, LinkCallbacks{});
  REQUIRE(link.start(loop.get()) == 0);
  CHECK_FALSE(link.broadcast(ByteVec{0x03, 0x02, 0x01}, 0));
  CHECK_FALSE(link.send(LinkAddress::xbee(0, 1), ByteVec{0x02, 0x17}));
  link.close();

  // IPv4-mapped IPv6 senders become udp4; udp4 maps back for an IPv6 socket.
  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  inet_pton(AF_INET6, "::ffff:10.1.2.3", &in6.sin6_addr);
  in6.sin6_port = htons(1884);
  const LinkAddress a = UdpLink::to_link_address(7, reinterpret_cast<sockaddr*>(&in6));
  CHECK(a == LinkAddress::udp4(7, {10, 1, 2, 3}, 1884));
  sockaddr_storage back{};
  REQUIRE(UdpLink::to_sockaddr(a, true, back));
  CHECK(std::memcmp(&reinterpret_cast<sockaddr_in6*>(&back)->sin6_addr, &in6.sin6_addr, 16) == 0);
  CHECK_FALSE(UdpLink::to_sockaddr(LinkAddress::udp6(7, {}, 1), false, back));
  CHECK(a.to_string() == "udp:10.1.2.3:1884");
}

TEST_CASE("udp link: a bad bind address is an error, not a crash") {
  Loop loop;
  UdpLinkOptions o;
  o.bind_address = "not-an-address";
  UdpLink link(0, o, LinkCallbacks{});
  CHECK(link.start(loop.get()) != 0);
  CHECK_FALSE(link.is_up());
}
