// The plain serial (njh) link on a real pseudo-terminal.
#include <doctest/doctest.h>

#include <memory>

#include "radio/serial_link.hpp"
#include "radio_test_support.hpp"

using namespace mqttsn::radio;
using mqttsn::LinkAddress;
using radio_test::ByteVec;
using radio_test::Loop;
using radio_test::Pty;
using radio_test::run_until;
using radio_test::vector_named;
using ms = std::chrono::milliseconds;

namespace {

struct Harness {
  Loop loop;
  Pty pty;
  std::vector<std::pair<LinkAddress, ByteVec>> received;
  std::unique_ptr<SerialLink> link;

  explicit Harness(NjhFramingOptions framing = {}) {
    SerialLinkOptions o;
    o.serial.device = pty.slave_path;
    o.framing = framing;
    link =
        std::make_unique<SerialLink>(2, o,
                                     LinkCallbacks{[this](const LinkAddress& from, mqttsn::Bytes d) {
                                                     received.emplace_back(from, ByteVec(d.begin(), d.end()));
                                                   },
                                                   {}});
    REQUIRE(link->start(loop.get()) == 0);
    REQUIRE(link->is_up());
  }
  ~Harness() { link->close(); }
};

}  // namespace

TEST_CASE("serial link: packets back to back in, replies out raw, one line = one node") {
  Harness h;
  h.pty.write(vector_named("serial_njh_two_packets").bytes);
  REQUIRE(run_until(h.loop.get(), [&] { return h.received.size() == 2; }));
  CHECK(h.received[0].first == LinkAddress::serial(2));
  CHECK(h.received[0].second == ByteVec{0x03, 0x05, 0x00});
  CHECK(h.received[1].second == ByteVec{0x02, 0x17});

  const ByteVec connack = {0x03, 0x05, 0x00};
  CHECK(h.link->send(LinkAddress::serial(2), connack));
  CHECK(h.link->broadcast(ByteVec{0x03, 0x02, 0x01}, 1));
  CHECK_FALSE(h.link->send(LinkAddress::udp4(2, {127, 0, 0, 1}, 1), connack));
  ByteVec out;
  REQUIRE(run_until(h.loop.get(), [&] {
    h.pty.read_into(out);
    return out.size() >= 6;
  }));
  CHECK(out == ByteVec{0x03, 0x05, 0x00, 0x03, 0x02, 0x01});
  CHECK_FALSE(h.link->send(LinkAddress::serial(2), ByteVec(256, 0x01)));
  CHECK(h.link->stats().oversize_refused == 1);
}

TEST_CASE("serial link: a partial packet is dropped after the idle gap, the next one is read") {
  Harness h(NjhFramingOptions{.idle_gap = ms(30)});
  h.pty.write(ByteVec{0x05, 0x00, 0x01});
  REQUIRE(run_until(h.loop.get(), [&] { return h.link->stats().idle_discards == 1; }));
  h.pty.write(ByteVec{0x02, 0x17});
  REQUIRE(run_until(h.loop.get(), [&] { return h.received.size() == 1; }));
  CHECK(h.received[0].second == ByteVec{0x02, 0x17});
}

TEST_CASE("serial link: long form accepted by default, rejected in strict njh mode") {
  const auto& v = vector_named("serial_njh_bad_3byte");
  {
    Harness h;
    h.pty.write(v.bytes);
    REQUIRE(run_until(h.loop.get(), [&] { return h.received.size() == 1; }));
    CHECK(h.received[0].second == v.bytes);
  }
  {
    Harness h(NjhFramingOptions{.strict_njh = true, .idle_gap = ms(20)});
    h.pty.write(v.bytes);
    REQUIRE(run_until(h.loop.get(), [&] { return h.link->stats().idle_discards == 1; }));
    CHECK(h.received.empty());
    CHECK(h.link->framing_counters().long_form_rejected == 1);
    CHECK(h.link->stats().malformed_frames == 2);  // 0x01 and the 0x00 after it
  }
}

TEST_CASE("serial link: a device that does not keep up: bounded queue, partial writes completed") {
  Loop loop;
  Pty pty;
  SerialLinkOptions o;
  o.serial.device = pty.slave_path;
  o.serial.write_queue_limit = 4096;
  SerialLink link(0, o, LinkCallbacks{});
  REQUIRE(link.start(loop.get()) == 0);
  // Nobody reads the master side: the pty buffer fills, then the queue, then sends are refused.
  ByteVec sent;
  for (int i = 0; i < 2000; ++i) {
    ByteVec packet(255, static_cast<std::uint8_t>(i));
    packet[0] = 0xFF;
    if (!link.send(LinkAddress::serial(0), packet)) break;
    sent.insert(sent.end(), packet.begin(), packet.end());
  }
  CHECK(link.stats().queue_full_drops == 1);
  REQUIRE(sent.size() < 2000u * 255u);
  // Now the radio reads: everything accepted arrives, in order, with no packet cut or lost.
  ByteVec out;
  REQUIRE(run_until(loop.get(), [&] {
    pty.read_into(out);
    return out.size() >= sent.size();
  }));
  CHECK(out == sent);
  CHECK(link.stats().bytes_out == sent.size());
  link.close();
}
