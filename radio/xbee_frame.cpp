#include "radio/xbee_frame.hpp"

#include <algorithm>
#include <cstring>

namespace mqttsn::radio::xbee {

const char* error_name(DecodeError e) {
  switch (e) {
    case DecodeError::bad_checksum:
      return "bad-checksum";
    case DecodeError::truncated:
      return "truncated";
    case DecodeError::no_start_delimiter:
      return "no-start-delimiter";
    case DecodeError::unescaped_control:
      return "unescaped-control";
    case DecodeError::dangling_escape:
      return "dangling-escape";
    case DecodeError::oversized:
      return "oversized";
  }
  return "unknown";
}

// ---------------------------------------------------------------------------------------------
// parse_frame

namespace {

std::uint16_t be16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
std::uint64_t be64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

Frame parse_frame(std::span<const std::uint8_t> fd) {
  if (fd.empty()) return UnknownFrame{0, true, {}};
  const std::uint8_t type = fd[0];
  const std::uint8_t* p = fd.data();
  const std::size_t n = fd.size();
  auto too_short = [&](std::size_t need) { return n < need; };
  switch (type) {
    case frame_type::rx_packet: {
      if (too_short(12)) break;
      RxPacket rx;
      rx.src64 = be64(p + 1);
      rx.src16 = be16(p + 9);
      rx.options = p[11];
      rx.data = fd.subspan(12);
      return rx;
    }
    case frame_type::explicit_rx: {
      if (too_short(18)) break;
      ExplicitRx rx;
      rx.src64 = be64(p + 1);
      rx.src16 = be16(p + 9);
      rx.src_endpoint = p[11];
      rx.dst_endpoint = p[12];
      rx.cluster_id = be16(p + 13);
      rx.profile_id = be16(p + 15);
      rx.options = p[17];
      rx.data = fd.subspan(18);
      return rx;
    }
    case frame_type::tx_status: {
      if (too_short(7)) break;
      return TxStatus{p[1], be16(p + 2), p[4], p[5], p[6]};
    }
    case frame_type::modem_status: {
      if (too_short(2)) break;
      return ModemStatus{p[1]};
    }
    case frame_type::at_response: {
      if (too_short(5)) break;
      AtResponse r;
      r.frame_id = p[1];
      r.command[0] = static_cast<char>(p[2]);
      r.command[1] = static_cast<char>(p[3]);
      r.status = p[4];
      r.data = fd.subspan(5);
      return r;
    }
    case frame_type::tx_request: {
      if (too_short(kTxRequestOverhead)) break;
      TxRequest tx;
      tx.frame_id = p[1];
      tx.dest64 = be64(p + 2);
      tx.dest16 = be16(p + 10);
      tx.radius = p[12];
      tx.options = p[13];
      tx.data = fd.subspan(kTxRequestOverhead);
      return tx;
    }
    case frame_type::at_command: {
      if (too_short(kAtCommandOverhead)) break;
      AtCommand at;
      at.frame_id = p[1];
      at.command[0] = static_cast<char>(p[2]);
      at.command[1] = static_cast<char>(p[3]);
      at.parameter = fd.subspan(kAtCommandOverhead);
      return at;
    }
    default:
      return UnknownFrame{type, false, fd.subspan(1)};
  }
  return UnknownFrame{type, true, fd.subspan(1)};
}

// ---------------------------------------------------------------------------------------------
// Decoder

Decoder::Decoder(ApiMode mode, std::size_t max_frame_data)
    : mode_(mode),
      max_frame_data_(max_frame_data > 0xFFFF ? 0xFFFF : max_frame_data),
      body_(max_frame_data_ == 0 ? 1 : max_frame_data_) {
  replay_.reserve(max_frame_data_ + 4);
}

void Decoder::reset() {
  state_ = State::hunt;
  escape_pending_ = false;
  in_garbage_ = false;
  filled_ = 0;
  sum_ = 0;
  replay_.clear();
  replay_pos_ = 0;
}

std::optional<DecodeError> Decoder::finish() {
  if (state_ == State::hunt) {
    in_garbage_ = false;
    return std::nullopt;
  }
  const DecodeError e = escape_pending_ ? DecodeError::dangling_escape : DecodeError::truncated;
  error(e);
  reset();
  return e;
}

Decoder::Event Decoder::error(DecodeError e) {
  switch (e) {
    case DecodeError::bad_checksum:
      ++counters_.bad_checksum;
      break;
    case DecodeError::truncated:
      ++counters_.truncated;
      break;
    case DecodeError::no_start_delimiter:
      break;  // counted byte by byte in garbage_bytes
    case DecodeError::unescaped_control:
      ++counters_.unescaped_control;
      break;
    case DecodeError::dangling_escape:
      ++counters_.dangling_escape;
      break;
    case DecodeError::oversized:
      ++counters_.oversized;
      break;
  }
  Event ev;
  ev.kind = Event::Kind::error;
  ev.error = e;
  return ev;
}

Decoder::Event Decoder::next(std::span<const std::uint8_t>& input) {
  for (;;) {
    if (replay_pos_ < replay_.size()) {
      std::span<const std::uint8_t> r{replay_.data() + replay_pos_, replay_.size() - replay_pos_};
      replaying_ = true;
      replay_replaced_ = false;
      const Event e = step(r);
      replaying_ = false;
      if (!replay_replaced_) replay_pos_ = replay_.size() - r.size();
      if (replay_pos_ >= replay_.size()) {
        replay_.clear();
        replay_pos_ = 0;
      }
      if (e.kind != Event::Kind::need_more) return e;
      continue;
    }
    return step(input);
  }
}

// API 1 only: a frame that failed (bad checksum, oversized length) may have swallowed the start of
// a real one, so everything after its delimiter is scanned again. In API 2 a raw 0x7E always starts
// a frame, so the failed bytes cannot hide one and this is not needed.
void Decoder::replay_after_delimiter(std::span<const std::uint8_t>& rest, bool with_body, std::uint8_t last) {
  if (mode_ != ApiMode::unescaped) return;
  std::vector<std::uint8_t> again;
  again.reserve(3 + filled_ + (replaying_ ? rest.size() : 0));
  again.push_back(length_hi_);
  again.push_back(static_cast<std::uint8_t>(length_ & 0xFF));
  if (with_body) {
    again.insert(again.end(), body_.begin(), body_.begin() + static_cast<std::ptrdiff_t>(filled_));
    again.push_back(last);
  }
  if (replaying_) {
    // Still inside an earlier replay: what was left of it follows the new one.
    again.insert(again.end(), rest.begin(), rest.end());
    rest = {};
    replay_replaced_ = true;
  }
  replay_.swap(again);
  replay_pos_ = 0;
}

void Decoder::start_frame() {
  state_ = State::length_hi;
  escape_pending_ = false;
  in_garbage_ = false;
  filled_ = 0;
  sum_ = 0;
}

Decoder::Event Decoder::step(std::span<const std::uint8_t>& in) {
  const std::uint8_t* p = in.data();
  const std::size_t n = in.size();
  std::size_t i = 0;
  auto leave = [&](Event e) {
    in = in.subspan(i);
    return e;
  };
  while (i < n) {
    if (state_ == State::hunt) {
      const void* hit = std::memchr(p + i, kStartDelimiter, n - i);
      const std::size_t skip =
          hit ? static_cast<std::size_t>(static_cast<const std::uint8_t*>(hit) - (p + i)) : n - i;
      if (skip > 0) {
        i += skip;
        // Replayed bytes were already counted as part of the frame that failed.
        if (!replaying_) {
          counters_.garbage_bytes += skip;
          if (!in_garbage_) {
            in_garbage_ = true;
            return leave(error(DecodeError::no_start_delimiter));
          }
        }
        continue;
      }
      ++i;
      start_frame();
      continue;
    }

    std::uint8_t b = p[i++];
    if (mode_ == ApiMode::escaped) {
      if (escape_pending_) {
        escape_pending_ = false;
        if (b == kStartDelimiter) {
          start_frame();
          return leave(error(DecodeError::dangling_escape));
        }
        b = static_cast<std::uint8_t>(b ^ 0x20);
      } else if (b == kStartDelimiter) {
        start_frame();
        return leave(error(DecodeError::truncated));
      } else if (b == kEscape) {
        escape_pending_ = true;
        continue;
      } else if (b == kXon || b == kXoff) {
        state_ = State::hunt;
        in_garbage_ = true;  // the rest of the broken frame is not a second error
        return leave(error(DecodeError::unescaped_control));
      }
    }

    switch (state_) {
      case State::hunt:
        break;  // not reached
      case State::length_hi:
        length_hi_ = b;
        state_ = State::length_lo;
        break;
      case State::length_lo:
        length_ = static_cast<std::uint16_t>((length_hi_ << 8) | b);
        if (length_ > max_frame_data_) {
          state_ = State::hunt;
          in_garbage_ = true;
          in = in.subspan(i);
          replay_after_delimiter(in, false, 0);
          return error(DecodeError::oversized);
        }
        state_ = length_ == 0 ? State::checksum : State::body;
        break;
      case State::body: {
        body_[filled_++] = b;
        sum_ = static_cast<std::uint8_t>(sum_ + b);
        if (mode_ == ApiMode::unescaped) {
          // Fast path: in API 1 the rest of the body is raw bytes, copy them in one go.
          const std::size_t take = std::min<std::size_t>(length_ - filled_, n - i);
          std::memcpy(body_.data() + filled_, p + i, take);
          for (std::size_t k = 0; k < take; ++k) sum_ = static_cast<std::uint8_t>(sum_ + p[i + k]);
          filled_ += take;
          i += take;
        }
        if (filled_ == length_) state_ = State::checksum;
        break;
      }
      case State::checksum:
        state_ = State::hunt;
        if (static_cast<std::uint8_t>(sum_ + b) == 0xFF) {
          ++counters_.frames;
          Event ev;
          ev.kind = Event::Kind::frame;
          ev.frame_data = {body_.data(), length_};
          return leave(ev);
        }
        in_garbage_ = true;
        in = in.subspan(i);
        replay_after_delimiter(in, true, b);
        return error(DecodeError::bad_checksum);
    }
  }
  in = in.subspan(n);
  return Event{};
}

// ---------------------------------------------------------------------------------------------
// Encoders

namespace {

// Writes one frame: delimiter, length, data (summed), checksum; escapes in API 2. Stops writing
// (and reports failure) at the end of `out` instead of overrunning it.
class FrameWriter {
 public:
  FrameWriter(ApiMode mode, std::span<std::uint8_t> out) : mode_(mode), out_(out) {}

  void begin(std::size_t length) {
    raw(kStartDelimiter);
    put(static_cast<std::uint8_t>(length >> 8));
    put(static_cast<std::uint8_t>(length & 0xFF));
    sum_ = 0;
  }
  void data(std::uint8_t b) {
    sum_ = static_cast<std::uint8_t>(sum_ + b);
    put(b);
  }
  void data(std::span<const std::uint8_t> bytes) {
    for (std::uint8_t b : bytes) data(b);
  }
  void data16(std::uint16_t v) {
    data(static_cast<std::uint8_t>(v >> 8));
    data(static_cast<std::uint8_t>(v & 0xFF));
  }
  void data64(std::uint64_t v) {
    for (int s = 56; s >= 0; s -= 8) data(static_cast<std::uint8_t>(v >> s));
  }
  std::size_t end() {
    put(static_cast<std::uint8_t>(0xFF - sum_));
    return overflow_ ? 0 : pos_;
  }

 private:
  void raw(std::uint8_t b) {
    if (pos_ >= out_.size()) {
      overflow_ = true;
      return;
    }
    out_[pos_++] = b;
  }
  void put(std::uint8_t b) {
    if (mode_ == ApiMode::escaped && (b == kStartDelimiter || b == kEscape || b == kXon || b == kXoff)) {
      raw(kEscape);
      raw(static_cast<std::uint8_t>(b ^ 0x20));
    } else {
      raw(b);
    }
  }

  ApiMode mode_;
  std::span<std::uint8_t> out_;
  std::size_t pos_ = 0;
  std::uint8_t sum_ = 0;
  bool overflow_ = false;
};

}  // namespace

std::size_t encode_tx_request(const TxRequest& tx, ApiMode mode, std::span<std::uint8_t> out) {
  const std::size_t length = kTxRequestOverhead + tx.data.size();
  if (length > 0xFFFF) return 0;
  FrameWriter w(mode, out);
  w.begin(length);
  w.data(frame_type::tx_request);
  w.data(tx.frame_id);
  w.data64(tx.dest64);
  w.data16(tx.dest16);
  w.data(tx.radius);
  w.data(tx.options);
  w.data(tx.data);
  return w.end();
}

std::size_t encode_at_command(std::uint8_t frame_id, std::string_view command,
                              std::span<const std::uint8_t> parameter, ApiMode mode,
                              std::span<std::uint8_t> out) {
  if (command.size() != 2) return 0;
  const std::size_t length = kAtCommandOverhead + parameter.size();
  if (length > 0xFFFF) return 0;
  FrameWriter w(mode, out);
  w.begin(length);
  w.data(frame_type::at_command);
  w.data(frame_id);
  w.data(static_cast<std::uint8_t>(command[0]));
  w.data(static_cast<std::uint8_t>(command[1]));
  w.data(parameter);
  return w.end();
}

std::size_t encode_frame(std::span<const std::uint8_t> frame_data, ApiMode mode,
                         std::span<std::uint8_t> out) {
  if (frame_data.size() > 0xFFFF) return 0;
  FrameWriter w(mode, out);
  w.begin(frame_data.size());
  w.data(frame_data);
  return w.end();
}

}  // namespace mqttsn::radio::xbee
