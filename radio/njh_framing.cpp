#include "radio/njh_framing.hpp"

namespace mqttsn::radio {

NjhFramer::NjhFramer(NjhFramingOptions options) : options_(options) {
  if (options_.max_packet < 255) options_.max_packet = 255;
  if (options_.max_packet > 0xFFFF) options_.max_packet = 0xFFFF;
  buffer_.resize(options_.max_packet);
}

void NjhFramer::reset() {
  state_ = State::length;
  expected_ = 0;
  filled_ = 0;
}

bool NjhFramer::expire(Millis now) {
  if (!partial() || now - last_byte_ < options_.idle_gap) return false;
  ++counters_.idle_discards;
  counters_.discarded_bytes += filled_;
  reset();
  return true;
}

bool NjhFramer::push(std::uint8_t b) {
  switch (state_) {
    case State::length:
      if (b == 0x00) {
        ++counters_.zero_length;
        ++counters_.discarded_bytes;
        return false;
      }
      if (b == 0x01) {
        if (options_.strict_njh) {
          ++counters_.long_form_rejected;
          ++counters_.discarded_bytes;
          return false;
        }
        buffer_[0] = b;
        filled_ = 1;
        state_ = State::long_hi;
        return false;
      }
      buffer_[0] = b;
      filled_ = 1;
      expected_ = b;
      state_ = State::body;
      return false;
    case State::long_hi:
      buffer_[filled_++] = b;
      state_ = State::long_lo;
      return false;
    case State::long_lo: {
      buffer_[filled_++] = b;
      expected_ = static_cast<std::size_t>((buffer_[1] << 8) | b);
      if (expected_ < 4) {  // long form must carry at least the 3 length octets and a type
        ++counters_.malformed_length;
        counters_.discarded_bytes += filled_;
        reset();
        return false;
      }
      if (expected_ > options_.max_packet) {
        ++counters_.oversized;
        state_ = State::skip;  // skip the announced bytes rather than misframe on them
        return false;
      }
      state_ = State::body;
      return false;
    }
    case State::body:
      buffer_[filled_++] = b;
      if (filled_ < expected_) return false;
      ++counters_.packets;
      counters_.bytes += expected_;
      state_ = State::length;
      filled_ = 0;
      return true;
    case State::skip:
      if (++filled_ >= expected_) {
        counters_.discarded_bytes += expected_;
        reset();
      }
      return false;
  }
  return false;
}

}  // namespace mqttsn::radio
