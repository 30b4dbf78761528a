#include "tools/sim/xbee_coordinator.hpp"

#include <type_traits>
#include <utility>
#include <variant>

namespace mqttsn::sim {

namespace xb = radio::xbee;

namespace {

void put16(std::vector<std::uint8_t>& v, std::uint16_t x) {
  v.push_back(static_cast<std::uint8_t>(x >> 8));
  v.push_back(static_cast<std::uint8_t>(x & 0xFF));
}
void put32(std::vector<std::uint8_t>& v, std::uint32_t x) {
  for (int shift = 24; shift >= 0; shift -= 8) v.push_back(static_cast<std::uint8_t>(x >> shift));
}
void put64(std::vector<std::uint8_t>& v, std::uint64_t x) {
  for (int shift = 56; shift >= 0; shift -= 8) v.push_back(static_cast<std::uint8_t>(x >> shift));
}

// DeliveryStatus values (protocol.md 5.3).
constexpr std::uint8_t kDeliverySuccess = 0x00;
constexpr std::uint8_t kDeliverySelfAddressed = 0x23;
constexpr std::uint8_t kDeliveryAddressNotFound = 0x24;
constexpr std::uint8_t kDeliveryTooLarge = 0x74;
// AT Response status values.
constexpr std::uint8_t kAtOk = 0;
constexpr std::uint8_t kAtInvalidCommand = 2;
constexpr std::uint8_t kAtInvalidParameter = 3;

}  // namespace

XbeeNodeAddress default_node_address(std::size_t index) {
  return {0x0013A20000000000ull + index + 1, static_cast<std::uint16_t>(0x1000 + index + 1)};
}

XbeeCoordinator::XbeeCoordinator(CoordinatorConfig cfg, std::vector<XbeeNodeAddress> nodes)
    : cfg_(cfg), nodes_(std::move(nodes)), decoder_(cfg.mode) {
  for (std::size_t i = 0; i < nodes_.size(); ++i) by_addr64_.emplace(nodes_[i].addr64, i);
  // What a factory-fresh Zigbee coordinator in API mode reports (values as the radio sends them:
  // big-endian, without leading zero octets except where Digi documents a fixed width).
  auto set = [this](const char* name, std::vector<std::uint8_t> v) { registers_[name] = std::move(v); };
  set("AP", {static_cast<std::uint8_t>(cfg_.mode)});
  set("AO", {0});
  set("NP", {0x00, cfg_.max_payload});
  std::vector<std::uint8_t> sh, sl;
  put32(sh, static_cast<std::uint32_t>(cfg_.own64 >> 32));
  put32(sl, static_cast<std::uint32_t>(cfg_.own64 & 0xFFFFFFFFu));
  set("SH", sh);
  set("SL", sl);
  set("MY", {0x00, 0x00});
  set("NH", {0x1E});
  set("EE", {0});
  set("CE", {1});
  std::vector<std::uint8_t> id;
  put64(id, cfg_.pan_id);
  set("ID", id);
  set("OP", id);  // the PAN it formed: the configured one
  set("CH", {0x0F});
  set("AI", {0});
  set("BD", {3});
  set("NB", {0});
  set("SB", {0});
  set("D6", {0});
  set("D7", {1});
  set("VR", {0x40, 0x61});
  set("HV", {0x1E, 0x46});
  set("NI", {'S', 'I', 'M'});
}

void XbeeCoordinator::on_serial(std::span<const std::uint8_t> bytes) {
  while (true) {
    const auto ev = decoder_.next(bytes);
    if (ev.kind == xb::Decoder::Event::Kind::need_more) break;
    if (ev.kind == xb::Decoder::Event::Kind::error) {
      ++counters_.frame_errors;
      continue;
    }
    ++counters_.frames_in;
    on_frame(ev.frame_data);
    if (switch_mode_pending_) {
      // AP was changed: the radio answered in the old mode and reads the following bytes in the
      // new one, so the decoder is replaced between frames (the current frame is done with).
      switch_mode_pending_ = false;
      decoder_ = xb::Decoder(cfg_.mode);
    }
  }
}

void XbeeCoordinator::on_frame(std::span<const std::uint8_t> frame_data) {
  auto frame = xb::parse_frame(frame_data);
  if (auto* tx = std::get_if<xb::TxRequest>(&frame)) {
    on_tx_request(*tx);
  } else if (auto* at = std::get_if<xb::AtCommand>(&frame)) {
    on_at_command(*at);
  } else {
    // 0x90, 0x8B ... only ever go radio -> host; a real radio ignores what it does not know.
    ++counters_.unknown_frames;
  }
}

void XbeeCoordinator::on_tx_request(const xb::TxRequest& tx) {
  ++counters_.tx_requests;
  if (tx.data.size() > cfg_.max_payload) {
    ++counters_.too_large;
    tx_status(tx.frame_id, 0xFFFD, 0, kDeliveryTooLarge, 0);
    return;
  }
  if (tx.dest64 == xb::kBroadcast64) {
    ++counters_.broadcasts;
    for (std::size_t i = 0; i < nodes_.size(); ++i)
      deliveries_.push_back({i, {tx.data.begin(), tx.data.end()}, true});
    tx_status(tx.frame_id, xb::kUnknown16, 0, kDeliverySuccess, 0);
    return;
  }
  if (tx.dest64 == 0 || tx.dest64 == cfg_.own64) {
    tx_status(tx.frame_id, 0xFFFD, 0, kDeliverySelfAddressed, 0);
    return;
  }
  auto it = by_addr64_.find(tx.dest64);
  if (it == by_addr64_.end()) {
    ++counters_.unknown_destination;
    tx_status(tx.frame_id, 0xFFFD, 2, kDeliveryAddressNotFound, 0x01);
    return;
  }
  const XbeeNodeAddress& node = nodes_[it->second];
  deliveries_.push_back({it->second, {tx.data.begin(), tx.data.end()}, false});
  // Dest16 0xFFFE asks the radio to discover the 16-bit address: report it as discovered.
  tx_status(tx.frame_id, node.addr16, 0, kDeliverySuccess, tx.dest16 == xb::kUnknown16 ? 0x01 : 0x00);
}

void XbeeCoordinator::tx_status(std::uint8_t frame_id, std::uint16_t dest16, std::uint8_t retries,
                                std::uint8_t delivery, std::uint8_t discovery) {
  last_delivery_status_ = delivery;
  if (frame_id == 0) return;  // FrameId 0: the host asked for no status
  std::vector<std::uint8_t> fd{xb::frame_type::tx_status, frame_id};
  put16(fd, dest16);
  fd.push_back(retries);
  fd.push_back(delivery);
  fd.push_back(discovery);
  write_frame(fd);
}

void XbeeCoordinator::on_at_command(const xb::AtCommand& at) {
  ++counters_.at_commands;
  const std::string name(at.name());
  std::vector<std::uint8_t> fd{xb::frame_type::at_response, at.frame_id,
                               static_cast<std::uint8_t>(at.command[0]),
                               static_cast<std::uint8_t>(at.command[1])};
  // Commands that act rather than hold a value.
  const bool action = name == "WR" || name == "AC" || name == "FR" || name == "RE" || name == "CN";
  auto reg = registers_.find(name);
  if (action) {
    fd.push_back(kAtOk);
  } else if (reg == registers_.end()) {
    fd.push_back(kAtInvalidCommand);
  } else if (at.parameter.empty()) {
    fd.push_back(kAtOk);
    fd.insert(fd.end(), reg->second.begin(), reg->second.end());
  } else {
    std::uint8_t status = kAtOk;
    const std::uint8_t value = at.parameter.back();
    if (name == "AP") {
      if (at.parameter.size() != 1 || (value != 1 && value != 2)) {
        status = kAtInvalidParameter;  // AP=0 (transparent mode) would end the simulation
      } else {
        cfg_.mode = static_cast<xb::ApiMode>(value);
        switch_mode_pending_ = true;
      }
    } else if (name == "AO" && value != 0) {
      status = kAtInvalidParameter;  // only 0x90 Receive Packets are simulated
    } else if (name == "SH" || name == "SL" || name == "MY" || name == "NP" || name == "AI" || name == "VR" ||
               name == "HV" || name == "OP" || name == "CH") {
      status = kAtInvalidParameter;  // read-only
    }
    if (status == kAtOk) reg->second.assign(at.parameter.begin(), at.parameter.end());
    fd.push_back(status);
  }
  // The answer goes out in the mode the command came in (a mode switch applies after it).
  const xb::ApiMode answer_mode =
      switch_mode_pending_
          ? (cfg_.mode == xb::ApiMode::escaped ? xb::ApiMode::unescaped : xb::ApiMode::escaped)
          : cfg_.mode;
  std::vector<std::uint8_t> out(xb::max_encoded_size(fd.size(), answer_mode));
  out.resize(xb::encode_frame(fd, answer_mode, out));
  serial_out_.insert(serial_out_.end(), out.begin(), out.end());
}

void XbeeCoordinator::node_send(std::size_t node, std::span<const std::uint8_t> datagram, bool broadcast) {
  if (node >= nodes_.size()) return;
  std::vector<std::uint8_t> fd{xb::frame_type::rx_packet};
  put64(fd, nodes_[node].addr64);
  put16(fd, nodes_[node].addr16);
  fd.push_back(broadcast ? xb::kRxOptionBroadcast : xb::kRxOptionAcked);
  fd.insert(fd.end(), datagram.begin(), datagram.end());
  ++counters_.rx_packets_out;
  write_frame(fd);
}

void XbeeCoordinator::modem_status(std::uint8_t status) {
  const std::uint8_t fd[] = {xb::frame_type::modem_status, status};
  write_frame(fd);
}

// Encoded (and the gateway's frames decoded) with the gateway's own XBee frame codec: a bug in it
// would be shared by both ends of the pty and go unseen end to end. The xbee_ byte vectors
// (tests/radio/xbee_frame_test.cpp) guard the codec itself.
void XbeeCoordinator::write_frame(std::span<const std::uint8_t> frame_data) {
  const std::size_t at = serial_out_.size();
  serial_out_.resize(at + xb::max_encoded_size(frame_data.size(), cfg_.mode));
  const std::size_t n = xb::encode_frame(frame_data, cfg_.mode, std::span(serial_out_).subspan(at));
  serial_out_.resize(at + n);
}

std::vector<std::uint8_t> XbeeCoordinator::take_serial() {
  return std::exchange(serial_out_, {});
}
std::vector<XbeeCoordinator::Delivery> XbeeCoordinator::take_deliveries() {
  return std::exchange(deliveries_, {});
}

}  // namespace mqttsn::sim
