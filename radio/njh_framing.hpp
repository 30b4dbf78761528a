#pragma once
// Plain serial framing as used by njh/mqtt-sn-tools' mqtt-sn-serial-bridge, with no I/O: MQTT-SN
// packets back to back on the line, each delimited only by its own Length octet.
//
// The gateway also accepts the 3-octet long form (0x01, then a 16-bit total length) by default,
// because nothing else on the line can mean 0x01 and a node that sends a long packet should not be
// misframed; njh's bridge itself rejects it, which `strict_njh` reproduces. There is no delimiter to
// resynchronise on, so a partial packet is dropped after an idle gap (the caller passes the time in).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace mqttsn::radio {

struct NjhFramingOptions {
  bool strict_njh = false;                  // reject the 3-octet length form, as njh does
  std::chrono::milliseconds idle_gap{100};  // a partial packet older than this is discarded
  std::size_t max_packet = 1024;            // long-form packets above this are skipped
};

struct NjhCounters {
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;               // bytes of delivered packets
  std::uint64_t zero_length = 0;         // 0x00 length octets skipped
  std::uint64_t long_form_rejected = 0;  // strict mode: 0x01 length octets skipped
  std::uint64_t malformed_length = 0;    // long form with a length below 4
  std::uint64_t oversized = 0;           // long form above max_packet (its bytes are skipped)
  std::uint64_t idle_discards = 0;       // partial packets dropped after an idle gap
  std::uint64_t discarded_bytes = 0;     // bytes thrown away by any of the above
};

class NjhFramer {
 public:
  using Millis = std::chrono::milliseconds;

  explicit NjhFramer(NjhFramingOptions options = {});

  // Feeds bytes that arrived at time `now` (a monotonic clock, any epoch). A partial packet whose
  // last byte is older than the idle gap is discarded first. on_packet(span) gets each complete
  // packet, Length octet(s) included; the span is valid during the call only.
  template <class OnPacket>
  void feed(std::span<const std::uint8_t> chunk, Millis now, OnPacket&& on_packet) {
    expire(now);
    for (std::uint8_t b : chunk)
      if (push(b)) on_packet(std::span<const std::uint8_t>(buffer_.data(), expected_));
    if (partial()) last_byte_ = now;
  }

  // Call when the idle timer fires: discards a stale partial packet. Returns true if it did.
  bool expire(Millis now);

  bool partial() const { return state_ != State::length; }
  Millis partial_deadline() const { return last_byte_ + options_.idle_gap; }  // if partial()
  const NjhCounters& counters() const { return counters_; }
  const NjhFramingOptions& options() const { return options_; }
  void reset();

 private:
  enum class State : std::uint8_t { length, long_hi, long_lo, body, skip };
  bool push(std::uint8_t b);  // true when a packet is complete in buffer_[0, expected_)

  NjhFramingOptions options_;
  State state_ = State::length;
  std::vector<std::uint8_t> buffer_;
  std::size_t expected_ = 0;  // total packet length
  std::size_t filled_ = 0;
  Millis last_byte_{0};
  NjhCounters counters_;
};

}  // namespace mqttsn::radio
