#include "radio/serial_link.hpp"

#include <algorithm>

#include "gateway/core/log.hpp"
#include "radio/port_stats.hpp"
#include "radio/uv_timer.hpp"

namespace mqttsn::radio {

SerialLink::SerialLink(std::uint8_t index, SerialLinkOptions options, LinkCallbacks callbacks)
    : Link(index),
      options_(std::move(options)),
      callbacks_(std::move(callbacks)),
      port_(options_.serial,
            SerialPort::Callbacks{
                [this](std::span<const std::uint8_t> b) { on_bytes(b); }, {}, [this] { framer_.reset(); }},
            "serial"),
      framer_(options_.framing) {}

SerialLink::~SerialLink() {
  if (loop_ != nullptr) close();
}

int SerialLink::start(uv_loop_t* loop) {
  loop_ = loop;
  closed_ = false;
  if (const int rc = open_timer(loop, this, idle_timer_); rc != 0) return rc;
  MQTTSN_LOG(info, "serial: link %u on %s, njh framing%s", index_, options_.serial.device.c_str(),
             options_.framing.strict_njh ? " (strict)" : "");
  return port_.start(loop);
}

void SerialLink::close() {
  if (closed_) return;
  closed_ = true;
  port_.close();
  close_timer(idle_timer_);
}

std::size_t SerialLink::max_payload() const {
  return options_.framing.strict_njh ? std::min<std::size_t>(options_.max_payload, 255)
                                     : options_.max_payload;
}

const LinkStats& SerialLink::stats() const {
  copy_port_stats(port_.stats(), stats_);
  const NjhCounters& c = framer_.counters();
  stats_.frames_in = c.packets;
  stats_.malformed_frames = c.zero_length + c.long_form_rejected + c.malformed_length;
  stats_.oversize_dropped = c.oversized;
  stats_.idle_discards = c.idle_discards;
  return stats_;
}

void SerialLink::on_bytes(std::span<const std::uint8_t> bytes) {
  const NjhFramer::Millis now{static_cast<std::int64_t>(uv_now(loop_))};
  const LinkAddress from = LinkAddress::serial(index_);
  framer_.feed(bytes, now, [&](std::span<const std::uint8_t> packet) {
    if (closed_) return;
    ++stats_.datagrams_in;
    if (callbacks_.on_datagram) callbacks_.on_datagram(from, packet);
  });
  arm_idle_timer();
}

void SerialLink::arm_idle_timer() {
  if (idle_timer_ == nullptr) return;
  if (!framer_.partial()) {
    uv_timer_stop(idle_timer_);
    return;
  }
  const auto now = static_cast<std::int64_t>(uv_now(loop_));
  const std::int64_t wait = std::max<std::int64_t>(framer_.partial_deadline().count() - now, 0);
  uv_timer_start(idle_timer_, idle_cb, static_cast<std::uint64_t>(wait) + 1, 0);
}

void SerialLink::idle_cb(uv_timer_t* handle) {
  auto* self = static_cast<SerialLink*>(handle->data);
  if (self == nullptr) return;
  const NjhFramer::Millis now{static_cast<std::int64_t>(uv_now(self->loop_))};
  if (self->framer_.expire(now)) MQTTSN_LOG(debug, "serial: partial packet dropped after an idle gap");
  self->arm_idle_timer();
}

bool SerialLink::write_datagram(Bytes datagram) {
  if (datagram.size() > max_payload()) {
    ++stats_.oversize_refused;
    MQTTSN_LOG(warning, "serial: datagram of %zu octets exceeds the max payload %zu: not sent",
               datagram.size(), max_payload());
    return false;
  }
  if (port_.write(datagram) != SerialPort::WriteResult::written) return false;
  ++stats_.frames_out;
  return true;
}

bool SerialLink::send(const LinkAddress& to, Bytes datagram) {
  if (to.kind != AddressKind::serial || to.link != index_) {
    MQTTSN_LOG(warning, "serial: link %u cannot send to %s", index_, to.to_string().c_str());
    return false;
  }
  if (!write_datagram(datagram)) return false;
  ++stats_.datagrams_out;
  return true;
}

bool SerialLink::broadcast(Bytes datagram, std::uint8_t /*radius*/) {
  if (!write_datagram(datagram)) return false;
  ++stats_.broadcasts_out;
  return true;
}

}  // namespace mqttsn::radio
