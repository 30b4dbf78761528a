#pragma once
// A Link over a plain serial line carrying bare MQTT-SN packets (njh/mqtt-sn-tools framing):
// SerialPort + NjhFramer. The line is one node (or one forwarder): every packet comes from, and
// every reply goes to, LinkAddress::serial(index). A broadcast is simply written to the line.
#include <string_view>

#include "radio/link.hpp"
#include "radio/njh_framing.hpp"
#include "radio/serial_port.hpp"

namespace mqttsn::radio {

struct SerialLinkOptions {
  SerialOptions serial;
  NjhFramingOptions framing;
  std::size_t max_payload = 255;  // outgoing cap; strict njh mode caps it at 255 whatever this says
};

class SerialLink final : public Link {
 public:
  SerialLink(std::uint8_t index, SerialLinkOptions options, LinkCallbacks callbacks);
  ~SerialLink() override;

  std::string_view name() const override { return "serial"; }
  int start(uv_loop_t* loop) override;
  void close() override;
  bool send(const LinkAddress& to, Bytes datagram) override;
  bool broadcast(Bytes datagram, std::uint8_t radius) override;
  std::size_t max_payload() const override;
  const LinkStats& stats() const override;
  bool is_up() const override { return port_.is_open(); }
  const NjhCounters& framing_counters() const { return framer_.counters(); }

 private:
  void on_bytes(std::span<const std::uint8_t> bytes);
  void arm_idle_timer();
  bool write_datagram(Bytes datagram);
  static void idle_cb(uv_timer_t* handle);

  SerialLinkOptions options_;
  LinkCallbacks callbacks_;
  SerialPort port_;
  NjhFramer framer_;
  uv_loop_t* loop_ = nullptr;
  uv_timer_t* idle_timer_ = nullptr;
  bool closed_ = false;
  mutable LinkStats stats_;
};

}  // namespace mqttsn::radio
