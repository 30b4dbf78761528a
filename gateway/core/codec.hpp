#pragma once
// The MQTT-SN 1.2 codec: bytes <-> Message. Decoding is total (every input gives a message or a typed
// error, never a throw and never a read out of bounds); encoding writes into the caller's buffer with
// no heap allocation and fails cleanly when the buffer is too small.
#include <cstddef>
#include <cstdint>
#include <span>

#include "messages.hpp"

namespace mqttsn {

enum class DecodeErrorKind : std::uint8_t {
  zero_length,            // Length octet 0x00
  truncated,              // fewer octets than Length says (or the length field itself is cut)
  length_mismatch,        // more octets than Length says (trailing octets)
  bad_length,             // Length below the form's minimum (2 short, 4 long)
  reserved_type,          // MsgType is a reserved value
  too_short,              // Length below the minimum for this message type
  bad_protocol_id,        // CONNECT ProtocolId other than 0x01
  qos_minus1_topic_type,  // QoS -1 PUBLISH with a normal topic id
  reserved_topic_type,    // TopicIdType 0b11
  field_out_of_range,     // e.g. ClientId empty or longer than 23, QoS -1 outside PUBLISH
  bad_encapsulation,      // 0xFE header shorter than 3, no inner message, or nested encapsulation
};

const char* to_string(DecodeErrorKind k);  // "truncated", "length-mismatch", ... as in the test vectors

struct DecodeError {
  DecodeErrorKind kind{};
  std::size_t offset = 0;   // octet offset where the problem was found
  const char* detail = "";  // static text, e.g. "CONNACK needs 3 octets"
};

class DecodeResult {
 public:
  DecodeResult(Message m) : ok_(true), msg_(m) {}
  DecodeResult(DecodeError e) : ok_(false), err_(e) {}
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Message& message() const { return msg_; }
  const DecodeError& error() const { return err_; }

 private:
  bool ok_;
  Message msg_{};
  DecodeError err_{};
};

// Decodes one complete MQTT-SN message (one UDP datagram or one XBee RF payload).
DecodeResult decode(std::span<const std::uint8_t> datagram);

enum class EncodeError : std::uint8_t {
  none,
  buffer_too_small,
  field_out_of_range,  // e.g. a message over 65535 octets, a node id over 252 octets
};

const char* to_string(EncodeError e);  // "buffer-too-small", "field-out-of-range"

struct EncodeResult {
  std::size_t size = 0;  // octets written when error == none
  EncodeError error = EncodeError::none;
  explicit operator bool() const { return error == EncodeError::none; }
};

// Encodes with the short length form whenever the total fits in 255 octets, else the long form.
EncodeResult encode(const Message& m, std::span<std::uint8_t> out);

// Total encoded size of a message (header included), without writing it.
std::size_t encoded_size(const Message& m);

// The Length header: how many octets a message of `body` octets (type included) needs in total.
constexpr std::size_t total_length_for_body(std::size_t body) {
  return body + 1 <= 255 ? body + 1 : body + 3;
}

}  // namespace mqttsn
