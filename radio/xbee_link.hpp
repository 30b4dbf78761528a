#pragma once
// A Link over a Digi XBee Zigbee coordinator in API mode: SerialPort + xbee_frame.
//
// 0x90 Receive Packet in -> on_datagram(LinkAddress::xbee(link, src64, src16), rf data).
// Datagrams out as 0x10 Transmit Request with rolling frame ids 1..255, matched against 0x8B
// Transmit Status; a failure (or no status within tx_status_timeout) is counted per node and
// reported through on_delivery_failure. Each node's latest 16-bit address (from 0x90 and successful
// 0x8B) is used for unicasts. At start and after every reopen the radio is asked for NP, SH, SL,
// AP, and for the operator VR, HV, OP and CH; the link works on without answers.
//
// No RSSI per node: a 0x90 Receive Packet carries none, and ATDB only gives the last hop's RSSI of
// the last packet received, which the next frame may already have replaced.
#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "radio/link.hpp"
#include "radio/serial_port.hpp"
#include "radio/xbee_frame.hpp"

namespace mqttsn::radio {

struct XbeeLinkOptions {
  SerialOptions serial;
  xbee::ApiMode api_mode = xbee::ApiMode::escaped;
  std::size_t max_payload = 255;           // unicast RF data cap (the MTU); NP lowers it
  std::size_t broadcast_max_payload = 92;  // broadcasts are never fragmented (84/92 on Zigbee)
  std::size_t max_frame_data = xbee::Decoder::kDefaultMaxFrameData;
  std::chrono::milliseconds tx_status_timeout{5000};
  std::uint8_t unicast_options = 0;  // 0x10 Options, e.g. 0x40 extended timeout for sleepy nodes
  bool query_radio = true;           // AT NP, SH, SL, AP, VR, HV, OP, CH at start and after each reopen
  std::size_t max_nodes = 4096;      // remembered 16-bit addresses / per-node counters
};

class XbeeLink final : public Link {
 public:
  struct NodeInfo {
    std::uint16_t address16 = xbee::kUnknown16;
    std::uint64_t tx_ok = 0;
    std::uint64_t tx_failures = 0;
  };
  struct RadioInfo {  // what the coordinator said about itself (0 / false until it answers)
    bool answered = false;
    std::uint16_t np = 0;  // maximum RF payload
    std::uint32_t sh = 0, sl = 0;
    std::uint8_t ap = 0;
    std::uint16_t vr = 0, hv = 0;  // firmware and hardware versions
    std::uint64_t op = 0;          // the PAN id the network operates on (64-bit)
    std::uint8_t ch = 0;           // operating channel (0: not joined / formed yet)
    std::uint64_t address64() const { return (std::uint64_t{sh} << 32) | sl; }
  };

  XbeeLink(std::uint8_t index, XbeeLinkOptions options, LinkCallbacks callbacks);
  ~XbeeLink() override;

  std::string_view name() const override { return "xbee"; }
  int start(uv_loop_t* loop) override;
  void close() override;
  bool send(const LinkAddress& to, Bytes datagram) override;
  bool broadcast(Bytes datagram, std::uint8_t radius) override;
  std::size_t max_payload() const override;
  const LinkStats& stats() const override;
  bool is_up() const override { return port_.is_open(); }
  std::vector<std::pair<std::string, std::string>> facts() const override;

  const NodeInfo* node(std::uint64_t address64) const;
  const RadioInfo& radio() const { return radio_; }
  const xbee::DecoderCounters& decoder_counters() const { return decoder_.counters(); }
  std::size_t pending_tx_status() const;

 private:
  struct PendingTx {
    bool active = false;
    LinkAddress to;
    std::uint64_t sent_at = 0;  // uv_now
  };

  void on_open();
  void on_bytes(std::span<const std::uint8_t> bytes);
  void on_frame(std::span<const std::uint8_t> frame_data);
  void on_decode_error(xbee::DecodeError e);
  void on_tx_status(const xbee::TxStatus& st);
  void on_at_response(const xbee::AtResponse& at);
  void deliver(std::uint64_t src64, std::uint16_t src16, Bytes data);
  void fail_delivery(PendingTx& p, const char* why, std::uint8_t status);
  void sweep_tx_status();
  void send_at_query(std::string_view command);
  std::uint8_t allocate_frame_id();
  bool write_frame(std::size_t length);
  NodeInfo* remember(std::uint64_t address64);
  static void sweep_cb(uv_timer_t* handle);

  XbeeLinkOptions options_;
  LinkCallbacks callbacks_;
  SerialPort port_;
  xbee::Decoder decoder_;
  uv_loop_t* loop_ = nullptr;
  uv_timer_t* sweep_timer_ = nullptr;
  std::array<PendingTx, 256> pending_{};
  std::uint8_t last_frame_id_ = 0;
  std::unordered_map<std::uint64_t, NodeInfo> nodes_;
  RadioInfo radio_;
  std::uint64_t at_sent_at_ = 0;
  bool at_silence_logged_ = false;
  std::vector<std::uint8_t> tx_buffer_;
  bool closed_ = false;
  mutable LinkStats stats_;
};

}  // namespace mqttsn::radio
