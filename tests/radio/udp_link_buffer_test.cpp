// The UDP link's receive side under bursts, on real loopback sockets: the receive buffer it asks
// for, a queued burst read whole (recvmmsg batches), and the kernel's drops counted in its stats.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "radio/udp_link.hpp"
#include "radio_test_support.hpp"

using namespace mqttsn::radio;
using radio_test::ByteVec;
using radio_test::Loop;
using radio_test::run_until;

namespace {

// A node socket on 127.0.0.1 that sends `count` datagrams of `size` octets, each carrying its index.
void send_burst(std::uint16_t port, int count, std::size_t size) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  to.sin_port = htons(port);
  ByteVec d(size, 0x5A);
  for (int i = 0; i < count; ++i) {
    d[0] = static_cast<std::uint8_t>(i);
    d[1] = static_cast<std::uint8_t>(i >> 8);
    REQUIRE(::sendto(fd, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) ==
            static_cast<ssize_t>(d.size()));
  }
  ::close(fd);
}

long rmem_max() {
  std::ifstream f("/proc/sys/net/core/rmem_max");
  long v = 0;
  f >> v;
  return v;
}

}  // namespace

TEST_CASE("udp link: a burst queued before the loop runs is read whole and in order") {
  Loop loop;
  std::vector<int> seen;
  UdpLinkOptions o;
  o.bind_address = "127.0.0.1";
  o.port = 0;
  o.receive_buffer_bytes = 8 * 1024 * 1024;
  UdpLink link(
      0, o,
      LinkCallbacks{[&](const mqttsn::LinkAddress&, mqttsn::Bytes d) { seen.push_back(d[0] | (d[1] << 8)); },
                    {}});
  REQUIRE(link.start(loop.get()) == 0);
  // Granted in full with CAP_NET_ADMIN, else capped at rmem_max; Linux reports twice the size.
  CHECK(link.receive_buffer_size() >= 2 * std::min<long>(o.receive_buffer_bytes, rmem_max()));

  constexpr int kCount = 200;  // fits even a stock 208 KiB rmem_max (~1.3 KiB of buffer each)
  send_burst(link.local_port(), kCount, 40);
  REQUIRE(run_until(loop.get(), [&] { return seen.size() == kCount; }));
  for (int i = 0; i < kCount; ++i) REQUIRE(seen[i] == i);
  CHECK(link.stats().datagrams_in == kCount);
  CHECK(link.stats().receive_buffer_drops == 0);
  link.close();
}

TEST_CASE("udp link: datagrams the kernel drops for a full receive buffer are counted") {
  Loop loop;
  std::size_t received = 0;
  UdpLinkOptions o;
  o.bind_address = "127.0.0.1";
  o.port = 0;
  o.receive_buffer_bytes = 1;  // the kernel's minimum: a handful of datagrams
  UdpLink link(0, o, LinkCallbacks{[&](const mqttsn::LinkAddress&, mqttsn::Bytes) { ++received; }, {}});
  REQUIRE(link.start(loop.get()) == 0);

  constexpr int kCount = 300;
  send_burst(link.local_port(), kCount, 200);
  REQUIRE(run_until(loop.get(), [&] { return received + link.stats().receive_buffer_drops == kCount; }));
  CHECK(received > 0);
  CHECK(link.stats().receive_buffer_drops > 0);
  CHECK(link.stats().datagrams_in == received);

  bool listed = false;
  link.stats().for_each([&](std::string_view name, std::uint64_t value) {
    if (name == "receive_buffer_drops") listed = value == link.stats().receive_buffer_drops;
  });
  CHECK(listed);
  link.close();
}
