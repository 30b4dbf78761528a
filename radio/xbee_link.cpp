#include "radio/xbee_link.hpp"

#include <algorithm>
#include <cstdio>
#include <variant>

#include "gateway/core/describe.hpp"
#include "gateway/core/log.hpp"
#include "radio/port_stats.hpp"
#include "radio/uv_timer.hpp"

namespace mqttsn::radio {

namespace {

constexpr std::size_t kMaxConfigurablePayload = 1024;

const char* modem_status_name(std::uint8_t s) {
  switch (s) {
    case 0x00:
      return "hardware reset";
    case 0x01:
      return "watchdog reset";
    case 0x02:
      return "joined network";
    case 0x03:
      return "disassociated";
    case 0x06:
      return "coordinator started";
    case 0x07:
      return "security key updated";
    case 0x0D:
      return "voltage supply limit exceeded";
    case 0x11:
      return "configuration changed during join";
    default:
      return s >= 0x80 ? "stack error" : "other";
  }
}

const char* delivery_status_name(std::uint8_t s) {
  switch (s) {
    case 0x00:
      return "success";
    case 0x01:
      return "MAC ACK failure";
    case 0x02:
      return "CCA failure";
    case 0x15:
      return "invalid destination endpoint";
    case 0x21:
      return "network ACK failure";
    case 0x22:
      return "not joined to network";
    case 0x23:
      return "self-addressed";
    case 0x24:
      return "address not found";
    case 0x25:
      return "route not found";
    case 0x26:
      return "broadcast source failed to hear a neighbor relay";
    case 0x74:
      return "payload too large";
    case 0x75:
      return "indirect message unrequested";
    default:
      return "delivery failure";
  }
}

std::uint32_t be_value(std::span<const std::uint8_t> d) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < d.size() && i < 4; ++i) v = (v << 8) | d[i];
  return v;
}

}  // namespace

XbeeLink::XbeeLink(std::uint8_t index, XbeeLinkOptions options, LinkCallbacks callbacks)
    : Link(index),
      options_(std::move(options)),
      callbacks_(std::move(callbacks)),
      port_(options_.serial,
            SerialPort::Callbacks{[this](std::span<const std::uint8_t> b) { on_bytes(b); },
                                  [this] { on_open(); }, [this] { decoder_.reset(); }},
            "xbee"),
      decoder_(options_.api_mode, options_.max_frame_data) {
  options_.max_payload = std::min(options_.max_payload, kMaxConfigurablePayload);
  tx_buffer_.resize(xbee::max_encoded_size(
      xbee::kTxRequestOverhead + std::max(options_.max_payload, options_.broadcast_max_payload),
      options_.api_mode));
}

XbeeLink::~XbeeLink() {
  if (loop_ != nullptr) close();
}

int XbeeLink::start(uv_loop_t* loop) {
  loop_ = loop;
  closed_ = false;
  if (const int rc = open_timer(loop, this, sweep_timer_); rc != 0) return rc;
  const auto period =
      static_cast<std::uint64_t>(std::clamp<std::int64_t>(options_.tx_status_timeout.count() / 4, 10, 1000));
  uv_timer_start(sweep_timer_, sweep_cb, period, period);
  MQTTSN_LOG(info, "xbee: link %u on %s, API mode %d, max payload %zu", index_,
             options_.serial.device.c_str(), static_cast<int>(options_.api_mode), options_.max_payload);
  return port_.start(loop);
}

void XbeeLink::close() {
  if (closed_) return;
  closed_ = true;
  port_.close();
  close_timer(sweep_timer_);
}

std::size_t XbeeLink::max_payload() const {
  std::size_t limit = options_.max_payload;
  if (radio_.np != 0) limit = std::min<std::size_t>(limit, radio_.np);
  return limit;
}

const LinkStats& XbeeLink::stats() const {
  copy_port_stats(port_.stats(), stats_);
  stats_.garbage_bytes = decoder_.counters().garbage_bytes;
  return stats_;
}

const XbeeLink::NodeInfo* XbeeLink::node(std::uint64_t address64) const {
  const auto it = nodes_.find(address64);
  return it == nodes_.end() ? nullptr : &it->second;
}

std::size_t XbeeLink::pending_tx_status() const {
  return static_cast<std::size_t>(
      std::count_if(pending_.begin(), pending_.end(), [](const PendingTx& p) { return p.active; }));
}

XbeeLink::NodeInfo* XbeeLink::remember(std::uint64_t address64) {
  const auto it = nodes_.find(address64);
  if (it != nodes_.end()) return &it->second;
  if (nodes_.size() >= options_.max_nodes) return nullptr;  // bounded: unknown nodes use 0xFFFE
  return &nodes_[address64];
}

// ---- receiving ----

void XbeeLink::on_open() {
  decoder_.reset();
  if (!options_.query_radio) return;
  radio_ = RadioInfo{};
  at_sent_at_ = uv_now(loop_);
  at_silence_logged_ = false;
  for (std::string_view cmd : {"NP", "SH", "SL", "AP", "VR", "HV", "OP", "CH"}) send_at_query(cmd);
}

void XbeeLink::on_bytes(std::span<const std::uint8_t> bytes) {
  while (!closed_) {
    const auto ev = decoder_.next(bytes);
    using Kind = xbee::Decoder::Event::Kind;
    if (ev.kind == Kind::need_more) return;
    if (ev.kind == Kind::frame)
      on_frame(ev.frame_data);
    else
      on_decode_error(ev.error);
  }
}

void XbeeLink::on_decode_error(xbee::DecodeError e) {
  switch (e) {
    case xbee::DecodeError::bad_checksum:
      ++stats_.bad_checksum;
      MQTTSN_LOG(debug, "xbee: frame with a bad checksum dropped");
      break;
    case xbee::DecodeError::oversized:
      ++stats_.oversize_dropped;
      MQTTSN_LOG(debug, "xbee: frame longer than %zu octets dropped", decoder_.max_frame_data());
      break;
    case xbee::DecodeError::no_start_delimiter:
      MQTTSN_LOG(debug, "xbee: bytes outside a frame skipped");
      break;
    default:
      ++stats_.malformed_frames;
      MQTTSN_LOG(debug, "xbee: frame dropped: %s", xbee::error_name(e));
      break;
  }
}

void XbeeLink::on_frame(std::span<const std::uint8_t> frame_data) {
  ++stats_.frames_in;
  const xbee::Frame frame = xbee::parse_frame(frame_data);
  if (const auto* rx = std::get_if<xbee::RxPacket>(&frame)) {
    deliver(rx->src64, rx->src16, rx->data);
  } else if (const auto* erx = std::get_if<xbee::ExplicitRx>(&frame)) {
    deliver(erx->src64, erx->src16, erx->data);
  } else if (const auto* st = std::get_if<xbee::TxStatus>(&frame)) {
    on_tx_status(*st);
  } else if (const auto* ms = std::get_if<xbee::ModemStatus>(&frame)) {
    ++stats_.modem_status;
    MQTTSN_LOG(notice, "xbee: modem status 0x%02X (%s)", ms->status, modem_status_name(ms->status));
  } else if (const auto* at = std::get_if<xbee::AtResponse>(&frame)) {
    on_at_response(*at);
  } else if (const auto* unk = std::get_if<xbee::UnknownFrame>(&frame); unk && unk->too_short) {
    ++stats_.malformed_frames;
    MQTTSN_LOG(debug, "xbee: frame type 0x%02X too short (%zu octets)", unk->type, frame_data.size());
  } else {
    ++stats_.unknown_frames;
    MQTTSN_LOG(debug, "xbee: frame type 0x%02X ignored", frame_data.empty() ? 0 : frame_data[0]);
  }
}

void XbeeLink::deliver(std::uint64_t src64, std::uint16_t src16, Bytes data) {
  if (data.empty()) {
    ++stats_.malformed_frames;
    return;
  }
  if (src16 != xbee::kUnknown16)
    if (NodeInfo* n = remember(src64)) n->address16 = src16;
  ++stats_.datagrams_in;
  if (callbacks_.on_datagram) callbacks_.on_datagram(LinkAddress::xbee(index_, src64, src16), data);
}

void XbeeLink::on_tx_status(const xbee::TxStatus& st) {
  PendingTx& p = pending_[st.frame_id];
  if (st.frame_id == 0 || !p.active) {
    MQTTSN_LOG(debug, "xbee: transmit status for unknown frame id %u", st.frame_id);
    return;
  }
  if (st.ok()) {
    p.active = false;
    if (NodeInfo* n = remember(p.to.xbee64())) {
      ++n->tx_ok;
      if (st.dst16 != 0xFFFD && st.dst16 != xbee::kUnknown16) n->address16 = st.dst16;
    }
    return;
  }
  fail_delivery(p, delivery_status_name(st.delivery), st.delivery);
}

void XbeeLink::fail_delivery(PendingTx& p, const char* why, std::uint8_t status) {
  p.active = false;
  ++stats_.tx_failures;
  if (NodeInfo* n = remember(p.to.xbee64())) {
    ++n->tx_failures;
    // A node that rejoined gets a new 16-bit address; let the radio discover it again.
    if (status == 0x24 || status == 0x25 || status == 0x21) n->address16 = xbee::kUnknown16;
  }
  MQTTSN_LOG(info, "xbee: delivery to %s failed: %s (0x%02X)", p.to.to_string().c_str(), why, status);
  const LinkAddress to = p.to;
  if (callbacks_.on_delivery_failure) callbacks_.on_delivery_failure(to);
}

void XbeeLink::sweep_cb(uv_timer_t* handle) {
  if (auto* self = static_cast<XbeeLink*>(handle->data)) self->sweep_tx_status();
}

void XbeeLink::sweep_tx_status() {
  const std::uint64_t now = uv_now(loop_);
  const auto timeout = static_cast<std::uint64_t>(options_.tx_status_timeout.count());
  for (PendingTx& p : pending_) {
    if (closed_) return;
    if (p.active && now - p.sent_at >= timeout) {
      ++stats_.tx_status_timeouts;
      fail_delivery(p, "no transmit status in time", 0xFF);
    }
  }
  if (options_.query_radio && !radio_.answered && !at_silence_logged_ && port_.is_open() &&
      now - at_sent_at_ >= 3000) {
    at_silence_logged_ = true;
    MQTTSN_LOG(warning,
               "xbee: the radio on %s does not answer AT queries: check the baud rate "
               "and that it is in API mode %d (ATAP); carrying on with max payload %zu",
               options_.serial.device.c_str(), static_cast<int>(options_.api_mode), max_payload());
  }
}

void XbeeLink::on_at_response(const xbee::AtResponse& at) {
  radio_.answered = true;
  const std::string cmd(at.name());
  if (at.status != 0) {
    MQTTSN_LOG(warning, "xbee: AT%s answered status %u", cmd.c_str(), at.status);
    return;
  }
  const std::uint32_t v = be_value(at.data);
  if (cmd == "NP") {
    radio_.np = static_cast<std::uint16_t>(v);
    MQTTSN_LOG(info, "xbee: radio max payload NP=%u; link max payload %zu", radio_.np, max_payload());
  } else if (cmd == "SH") {
    radio_.sh = v;
    MQTTSN_LOG(info, "xbee: radio address SH=%08X", v);
  } else if (cmd == "SL") {
    radio_.sl = v;
    MQTTSN_LOG(info, "xbee: radio address SL=%08X (64-bit %016llX)", v,
               static_cast<unsigned long long>(radio_.address64()));
  } else if (cmd == "AP") {
    radio_.ap = static_cast<std::uint8_t>(v);
    MQTTSN_LOG(info, "xbee: radio API mode AP=%u", radio_.ap);
    if (radio_.ap != static_cast<std::uint8_t>(options_.api_mode))
      MQTTSN_LOG(warning,
                 "xbee: the radio runs API mode %u but the link is configured for %d: "
                 "frames with escaped bytes will be misread; fix api_mode or ATAP",
                 radio_.ap, static_cast<int>(options_.api_mode));
  } else if (cmd == "VR" || cmd == "HV") {
    (cmd == "VR" ? radio_.vr : radio_.hv) = static_cast<std::uint16_t>(v);
    MQTTSN_LOG(info, "xbee: radio %s version %04X", cmd == "VR" ? "firmware" : "hardware", v);
  } else if (cmd == "OP") {
    radio_.op = 0;
    for (std::uint8_t b : at.data) radio_.op = (radio_.op << 8) | b;
    MQTTSN_LOG(info, "xbee: operating PAN id %016llX", static_cast<unsigned long long>(radio_.op));
  } else if (cmd == "CH") {
    radio_.ch = static_cast<std::uint8_t>(v);
    MQTTSN_LOG(info, "xbee: operating channel %02X", radio_.ch);
  } else {
    MQTTSN_LOG(info, "xbee: AT%s answered (%zu octets)", cmd.c_str(), at.data.size());
  }
}

std::vector<std::pair<std::string, std::string>> XbeeLink::facts() const {
  if (!radio_.answered) return {{"answered", "no"}};
  return {{"firmware", hex(radio_.vr, 4)},
          {"hardware", hex(radio_.hv, 4)},
          {"address64", hex(radio_.address64(), 16)},
          {"pan_id", hex(radio_.op, 16)},
          {"channel", hex(radio_.ch, 2)},
          {"max_payload_np", std::to_string(radio_.np)},
          {"api_mode", std::to_string(radio_.ap)}};
}

// ---- sending ----

std::uint8_t XbeeLink::allocate_frame_id() {
  // Rolling 1..255 (0 means "no status"); skip ids still waiting for their 0x8B when possible.
  for (int tries = 0; tries < 255; ++tries) {
    last_frame_id_ = static_cast<std::uint8_t>(last_frame_id_ == 255 ? 1 : last_frame_id_ + 1);
    if (!pending_[last_frame_id_].active) return last_frame_id_;
  }
  // All 255 in flight: the oldest id is reused and its delivery counts as unknown (a failure).
  PendingTx& p = pending_[last_frame_id_];
  ++stats_.tx_status_timeouts;
  fail_delivery(p, "frame id reused before its status came", 0xFF);
  return last_frame_id_;
}

// A port that is closed (unplugged) or full refuses the write and counts it in its own stats.
bool XbeeLink::write_frame(std::size_t length) {
  if (length == 0) return false;
  const auto r = port_.write({tx_buffer_.data(), length});
  if (r != SerialPort::WriteResult::written) return false;
  ++stats_.frames_out;
  return true;
}

void XbeeLink::send_at_query(std::string_view command) {
  std::array<std::uint8_t, xbee::max_encoded_size(xbee::kAtCommandOverhead, xbee::ApiMode::escaped)> buf{};
  // AT frame ids come from the same rolling counter but are not tracked: 0x88 names its command.
  const std::uint8_t id = allocate_frame_id();
  const std::size_t n = xbee::encode_at_command(id, command, {}, options_.api_mode, buf);
  if (n > 0 && port_.write({buf.data(), n}) == SerialPort::WriteResult::written) ++stats_.frames_out;
}

bool XbeeLink::send(const LinkAddress& to, Bytes datagram) {
  if (to.kind != AddressKind::xbee || to.link != index_) {
    MQTTSN_LOG(warning, "xbee: link %u cannot send to %s", index_, to.to_string().c_str());
    return false;
  }
  if (datagram.size() > max_payload()) {
    ++stats_.oversize_refused;
    MQTTSN_LOG(warning, "xbee: datagram of %zu octets to %s exceeds the max payload %zu: not sent",
               datagram.size(), to.to_string().c_str(), max_payload());
    return false;
  }
  const std::uint64_t addr64 = to.xbee64();
  std::uint16_t addr16 = to.xbee16;
  if (const NodeInfo* n = node(addr64); n != nullptr) addr16 = n->address16;
  xbee::TxRequest tx;
  tx.frame_id = allocate_frame_id();
  tx.dest64 = addr64;
  tx.dest16 = addr16;
  tx.radius = 0;
  tx.options = options_.unicast_options;
  tx.data = datagram;
  if (!write_frame(xbee::encode_tx_request(tx, options_.api_mode, tx_buffer_))) return false;
  pending_[tx.frame_id] = PendingTx{true, to, uv_now(loop_)};
  ++stats_.datagrams_out;
  return true;
}

bool XbeeLink::broadcast(Bytes datagram, std::uint8_t radius) {
  const std::size_t limit = std::min(options_.broadcast_max_payload, max_payload());
  if (datagram.size() > limit) {
    ++stats_.oversize_refused;
    MQTTSN_LOG(warning,
               "xbee: broadcast of %zu octets exceeds the broadcast max payload %zu: "
               "not sent",
               datagram.size(), limit);
    return false;
  }
  // Frame id 0: fire and forget, broadcasts always report success anyway.
  const xbee::TxRequest tx = xbee::broadcast_request(0, radius, datagram);
  if (!write_frame(xbee::encode_tx_request(tx, options_.api_mode, tx_buffer_))) return false;
  ++stats_.broadcasts_out;
  return true;
}

}  // namespace mqttsn::radio
