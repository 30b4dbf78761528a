// The simulated XBee coordinator with no I/O: host frames in, exact frames out (checked against
// tests/data/mqttsn-vectors.txt), RF data routed to the right node.
#include <doctest/doctest.h>

#include "radio/xbee_frame.hpp"
#include "sim_test_util.hpp"
#include "tools/sim/xbee_coordinator.hpp"

using mqttsn::radio::xbee::ApiMode;
using mqttsn::sim::CoordinatorConfig;
using mqttsn::sim::XbeeCoordinator;
using mqttsn::sim::XbeeNodeAddress;
using sim_test::hex;
using sim_test::to_hex;

namespace {

XbeeCoordinator make(ApiMode mode, std::vector<XbeeNodeAddress> nodes = {{0x0013A20040522BAAull, 0x7D84},
                                                                         {0x0013A20000000002ull, 0x1002}}) {
  CoordinatorConfig c;
  c.mode = mode;
  return XbeeCoordinator(c, std::move(nodes));
}

}  // namespace

TEST_CASE("AT queries are answered like a coordinator (AP, NP vectors)") {
  auto co = make(ApiMode::escaped);
  co.on_serial(hex("7E 00 04 08 01 41 50 65"));  // xbee_api1_at_query_ap (no escapes needed)
  CHECK(to_hex(co.take_serial()) == "7E 00 06 88 01 41 50 00 02 E3");  // xbee_api1_atresp_ap2

  auto co1 = make(ApiMode::unescaped);
  co1.on_serial(hex("7E 00 04 08 05 4E 50 54"));                           // xbee_api1_at_query_np
  CHECK(to_hex(co1.take_serial()) == "7E 00 07 88 05 4E 50 00 00 FF D5");  // xbee_api1_atresp_np
  CHECK(co1.counters().at_commands == 1);
}

TEST_CASE("SH/SL give the coordinator's own address, an unknown command gets status 2") {
  auto co = make(ApiMode::unescaped);
  std::uint8_t buf[64];
  const std::uint8_t sl[] = {0x08, 0x07, 'S', 'L'};
  co.on_serial(std::span(buf, mqttsn::radio::xbee::encode_frame(sl, ApiMode::unescaped, buf)));
  const std::uint8_t zz[] = {0x08, 0x08, 'Z', 'Z'};
  co.on_serial(std::span(buf, mqttsn::radio::xbee::encode_frame(zz, ApiMode::unescaped, buf)));
  auto out = co.take_serial();
  mqttsn::radio::xbee::Decoder dec(ApiMode::unescaped);
  std::vector<std::string> answers;
  dec.feed(
      std::span<const std::uint8_t>(out),
      [&](std::span<const std::uint8_t> fd) { answers.push_back(to_hex(fd)); },
      [](auto) { FAIL("bad frame"); });
  REQUIRE(answers.size() == 2);
  CHECK(answers[0] == "88 07 53 4C 00 00 00 00 00");  // SL of 0013A200 00000000
  CHECK(answers[1] == "88 08 5A 5A 02");
}

TEST_CASE("a 0x10 Transmit Request reaches its node and gets a 0x8B success (API 2 vectors)") {
  auto co = make(ApiMode::escaped);
  // xbee_api2_tx_connack, fed one octet at a time as a slow serial line would.
  for (auto b : hex("7E 00 7D 31 10 01 00 7D 33 A2 00 40 52 2B AA 7D 5D 84 00 00 03 05 00 C9"))
    co.on_serial(std::span(&b, 1));
  auto d = co.take_deliveries();
  REQUIRE(d.size() == 1);
  CHECK(d[0].node == 0);
  CHECK(to_hex(d[0].datagram) == "03 05 00");
  CHECK(!d[0].broadcast);
  CHECK(to_hex(co.take_serial()) == "7E 00 07 8B 01 7D 5D 84 00 00 00 72");  // xbee_api2_txstatus_ok
}

TEST_CASE("an unknown destination gets 0x8B 'address not found' and no delivery") {
  auto co = make(ApiMode::unescaped);
  const auto fd = hex("10 02 00 13 A2 00 99 99 99 99 FF FE 00 00 03 05 00");
  std::vector<std::uint8_t> buf(64);
  buf.resize(mqttsn::radio::xbee::encode_frame(fd, ApiMode::unescaped, buf));
  co.on_serial(buf);
  CHECK(co.take_deliveries().empty());
  CHECK(to_hex(co.take_serial()) == "7E 00 07 8B 02 FF FD 02 24 01 4F");  // xbee_api1_txstatus_addr_not_found
  CHECK(co.counters().unknown_destination == 1);
}

TEST_CASE("a broadcast reaches every node, FrameId 0 asks for no status") {
  auto co = make(ApiMode::escaped);
  co.on_serial(hex("7E 00 7D 33 10 00 00 00 00 00 00 00 FF FF FF FE 00 00 05 00 01 03 84 67"));  // vector
  auto d = co.take_deliveries();
  REQUIRE(d.size() == 2);
  CHECK(d[0].node == 0);
  CHECK(d[1].node == 1);
  CHECK(d[1].broadcast);
  CHECK(to_hex(d[1].datagram) == "05 00 01 03 84");
  CHECK(co.take_serial().empty());
}

TEST_CASE("a node's datagram goes to the host as a 0x90 Receive Packet (API 1 and API 2 vectors)") {
  auto co2 = make(ApiMode::escaped);
  co2.node_send(0, hex("09 0C 20 00 01 00 02 32 32"), false);
  CHECK(
      to_hex(co2.take_serial()) ==
      "7E 00 15 90 00 7D 33 A2 00 40 52 2B AA 7D 5D 84 01 09 0C 20 00 01 00 02 32 32 B5");  // xbee_api2_rx_publish
  auto co1 = make(ApiMode::unescaped);
  co1.node_send(0, hex("03 01 01"), true);
  CHECK(to_hex(co1.take_serial()) ==
        "7E 00 0F 90 00 13 A2 00 40 52 2B AA 7D 84 02 03 01 01 4B");  // xbee_api1_rx_searchgw_bcast
}

TEST_CASE("RF data above NP gets 0x8B 'payload too large'") {
  CoordinatorConfig c;
  c.mode = ApiMode::unescaped;
  c.max_payload = 84;
  XbeeCoordinator co(c, {{0x0013A20040522BAAull, 0x7D84}});
  std::vector<std::uint8_t> fd = hex("10 03 00 13 A2 00 40 52 2B AA FF FE 00 00");
  fd.resize(fd.size() + 85, 0x41);
  std::vector<std::uint8_t> buf(200);
  buf.resize(mqttsn::radio::xbee::encode_frame(fd, ApiMode::unescaped, buf));
  co.on_serial(buf);
  CHECK(co.take_deliveries().empty());
  CHECK(to_hex(co.take_serial()) == "7E 00 07 8B 03 FF FD 00 74 00 01");  // xbee_api1_txstatus_too_large
}

TEST_CASE("setting AP switches the framing after the answer, garbage and bad checksums are counted") {
  auto co = make(ApiMode::escaped);
  std::uint8_t buf[32];
  const std::uint8_t set_ap1[] = {0x08, 0x11, 'A', 'P', 0x01};  // FrameId 0x11 must be escaped in AP=2
  std::vector<std::uint8_t> in(buf, buf + mqttsn::radio::xbee::encode_frame(set_ap1, ApiMode::escaped, buf));
  co.on_serial(in);
  CHECK(to_hex(co.take_serial()) == "7E 00 05 88 7D 31 41 50 00 D5");  // answered in AP=2
  CHECK(co.mode() == ApiMode::unescaped);
  co.on_serial(hex("7E 00 04 08 01 41 50 65"));
  CHECK(to_hex(co.take_serial()) == "7E 00 06 88 01 41 50 00 01 E4");
  co.on_serial(hex("13 37 7E 00 11 10 01 00 13 A2 00 40 52 2B AA 7D 84 00 00 03 05 00 CA"));  // bad checksum
  CHECK(co.take_deliveries().empty());
  CHECK(co.counters().frame_errors >= 2);
}
