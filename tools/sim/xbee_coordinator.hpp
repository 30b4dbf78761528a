#pragma once
// A simulated Digi XBee Zigbee coordinator in API mode, as seen from its serial port, with no I/O.
// The gateway (the "host") writes API frames; this answers like the real radio:
//   0x10 Transmit Request -> the RF data goes to the node with that Dest64 (000000000000FFFF: to
//                            every node), plus a 0x8B Transmit Status when the FrameId is not 0
//                            (unknown destination: delivery 0x24 "address not found").
//   0x08 AT Command       -> 0x88 AT Response (AP, AO, NP, SH, SL, MY, ... queries and settings).
// Nodes' datagrams go to the host in 0x90 Receive Packet frames. Frames are escaped when AP=2.
#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "radio/xbee_frame.hpp"

namespace mqttsn::sim {

struct XbeeNodeAddress {
  std::uint64_t addr64 = 0;
  std::uint16_t addr16 = 0;
};

// Node n (0-based) gets 0013A200000000NN (NN = n + 1, hex) and 16-bit address 0x1000 + n + 1.
XbeeNodeAddress default_node_address(std::size_t index);

struct CoordinatorConfig {
  radio::xbee::ApiMode mode = radio::xbee::ApiMode::escaped;
  std::uint64_t own64 = 0x0013A20000000000ull;  // SH/SL
  std::uint16_t pan_id = 0x1234;
  std::uint8_t max_payload = 0xFF;  // NP: 255 = APS fragmentation on (protocol.md 5.8)
};

struct CoordinatorCounters {
  std::uint64_t frames_in = 0;
  std::uint64_t frame_errors = 0;  // bad checksum, truncated, bad escapes, garbage runs
  std::uint64_t tx_requests = 0;
  std::uint64_t broadcasts = 0;
  std::uint64_t unknown_destination = 0;
  std::uint64_t too_large = 0;
  std::uint64_t at_commands = 0;
  std::uint64_t unknown_frames = 0;
  std::uint64_t rx_packets_out = 0;
};

class XbeeCoordinator {
 public:
  struct Delivery {
    std::size_t node = 0;
    std::vector<std::uint8_t> datagram;
    bool broadcast = false;
  };

  XbeeCoordinator(CoordinatorConfig cfg, std::vector<XbeeNodeAddress> nodes);

  // Bytes the host wrote to the serial port (any chunking).
  void on_serial(std::span<const std::uint8_t> bytes);
  // A node transmits: a 0x90 frame for the host. `broadcast` sets RxOptions 0x02 (else 0x01, acked).
  void node_send(std::size_t node, std::span<const std::uint8_t> datagram, bool broadcast);
  // A 0x8A Modem Status frame (e.g. 0x00 hardware reset, 0x06 coordinator started).
  void modem_status(std::uint8_t status);

  std::vector<std::uint8_t> take_serial();  // bytes for the host, in order
  std::vector<Delivery> take_deliveries();  // RF data for the nodes, in order

  radio::xbee::ApiMode mode() const { return cfg_.mode; }
  const CoordinatorCounters& counters() const { return counters_; }
  const std::vector<XbeeNodeAddress>& nodes() const { return nodes_; }
  // Last DeliveryStatus sent per FrameId is not kept; the most recent one is, for tests and -v.
  std::uint8_t last_delivery_status() const { return last_delivery_status_; }

 private:
  void on_frame(std::span<const std::uint8_t> frame_data);
  void on_tx_request(const radio::xbee::TxRequest& tx);
  void on_at_command(const radio::xbee::AtCommand& at);
  void tx_status(std::uint8_t frame_id, std::uint16_t dest16, std::uint8_t retries, std::uint8_t delivery,
                 std::uint8_t discovery);
  void write_frame(std::span<const std::uint8_t> frame_data);

  CoordinatorConfig cfg_;
  std::vector<XbeeNodeAddress> nodes_;
  std::unordered_map<std::uint64_t, std::size_t> by_addr64_;
  radio::xbee::Decoder decoder_;
  std::map<std::string, std::vector<std::uint8_t>, std::less<>> registers_;  // AT parameters
  std::vector<std::uint8_t> serial_out_;
  std::vector<Delivery> deliveries_;
  std::uint8_t last_delivery_status_ = 0;
  bool switch_mode_pending_ = false;
  CoordinatorCounters counters_;
};

}  // namespace mqttsn::sim
