#pragma once
// Digi XBee API frame codec (API mode 1 = raw, API mode 2 = escaped), with no I/O.
//
// Decoding is streaming: the Decoder takes whatever chunks the serial port hands over (one byte or
// many frames at a time) and yields complete, checksum-verified frames one at a time through next().
// parse_frame() then turns a frame's data into a typed struct. Encoding writes into a caller buffer
// with no heap allocation, so the hot send path allocates nothing.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <variant>
#include <vector>

namespace mqttsn::radio::xbee {

enum class ApiMode : std::uint8_t { unescaped = 1, escaped = 2 };

inline constexpr std::uint8_t kStartDelimiter = 0x7E;
inline constexpr std::uint8_t kEscape = 0x7D;
inline constexpr std::uint8_t kXon = 0x11;
inline constexpr std::uint8_t kXoff = 0x13;

namespace frame_type {
inline constexpr std::uint8_t at_command = 0x08;
inline constexpr std::uint8_t tx_request = 0x10;
inline constexpr std::uint8_t at_response = 0x88;
inline constexpr std::uint8_t modem_status = 0x8A;
inline constexpr std::uint8_t tx_status = 0x8B;
inline constexpr std::uint8_t rx_packet = 0x90;
inline constexpr std::uint8_t explicit_rx = 0x91;
}  // namespace frame_type

inline constexpr std::uint64_t kBroadcast64 = 0x000000000000FFFFull;
inline constexpr std::uint16_t kUnknown16 = 0xFFFE;
inline constexpr std::uint8_t kRxOptionAcked = 0x01;
inline constexpr std::uint8_t kRxOptionBroadcast = 0x02;

// Why bytes were dropped. The names (error_name) are the ones used by tests/data/mqttsn-vectors.txt.
enum class DecodeError : std::uint8_t {
  bad_checksum,
  truncated,           // frame cut short (a new delimiter in API 2, or finish() mid-frame)
  no_start_delimiter,  // bytes outside a frame (reported once per run of garbage)
  unescaped_control,   // API 2: raw 0x11/0x13 inside a frame
  dangling_escape,     // API 2: 0x7D followed by a delimiter or by the end of the stream
  oversized,           // length field above the configured maximum
};
const char* error_name(DecodeError e);

// ---- typed frames (spans point into the decoder's buffer: valid until its next call) ----

struct RxPacket {  // 0x90
  std::uint64_t src64 = 0;
  std::uint16_t src16 = 0;
  std::uint8_t options = 0;
  std::span<const std::uint8_t> data;
  bool broadcast() const { return (options & kRxOptionBroadcast) != 0; }
};

struct ExplicitRx {  // 0x91 (AO=1)
  std::uint64_t src64 = 0;
  std::uint16_t src16 = 0;
  std::uint8_t src_endpoint = 0;
  std::uint8_t dst_endpoint = 0;
  std::uint16_t cluster_id = 0;
  std::uint16_t profile_id = 0;
  std::uint8_t options = 0;
  std::span<const std::uint8_t> data;
  bool broadcast() const { return (options & kRxOptionBroadcast) != 0; }
};

struct TxStatus {  // 0x8B
  std::uint8_t frame_id = 0;
  std::uint16_t dst16 = 0;
  std::uint8_t retries = 0;
  std::uint8_t delivery = 0;  // 0x00 = success
  std::uint8_t discovery = 0;
  bool ok() const { return delivery == 0; }
};

struct ModemStatus {  // 0x8A
  std::uint8_t status = 0;
};

struct AtResponse {  // 0x88
  std::uint8_t frame_id = 0;
  char command[2] = {0, 0};
  std::uint8_t status = 0;  // 0 OK
  std::span<const std::uint8_t> data;
  std::string_view name() const { return {command, 2}; }
};

// Host -> radio frames: parsed too, so a simulator or a test can read what the gateway wrote.
struct TxRequest {            // 0x10
  std::uint8_t frame_id = 0;  // 0 = no 0x8B status wanted
  std::uint64_t dest64 = 0;
  std::uint16_t dest16 = kUnknown16;
  std::uint8_t radius = 0;  // broadcast hops, 0 = NH
  std::uint8_t options = 0;
  std::span<const std::uint8_t> data;
};

struct AtCommand {  // 0x08
  std::uint8_t frame_id = 0;
  char command[2] = {0, 0};
  std::span<const std::uint8_t> parameter;
  std::string_view name() const { return {command, 2}; }
};

struct UnknownFrame {  // a type this codec does not know, or a known type that is too short
  std::uint8_t type = 0;
  bool too_short = false;
  std::span<const std::uint8_t> data;  // frame data after the type octet
};

using Frame =
    std::variant<RxPacket, ExplicitRx, TxStatus, ModemStatus, AtResponse, TxRequest, AtCommand, UnknownFrame>;

// Parses one frame's data (the unescaped octets between the length field and the checksum, type
// octet first). Never fails: what cannot be parsed comes back as UnknownFrame.
Frame parse_frame(std::span<const std::uint8_t> frame_data);

// ---- streaming decoder ----

struct DecoderCounters {
  std::uint64_t frames = 0;  // complete frames with a good checksum
  std::uint64_t bad_checksum = 0;
  std::uint64_t oversized = 0;
  std::uint64_t garbage_bytes = 0;  // bytes outside any frame (not counting aborted frames)
  std::uint64_t truncated = 0;      // frames aborted before their checksum
  std::uint64_t unescaped_control = 0;
  std::uint64_t dangling_escape = 0;
};

class Decoder {
 public:
  static constexpr std::size_t kDefaultMaxFrameData = 512;

  struct Event {
    enum class Kind : std::uint8_t { need_more, frame, error };
    Kind kind = Kind::need_more;
    DecodeError error = DecodeError::bad_checksum;  // valid for Kind::error
    std::span<const std::uint8_t> frame_data;       // valid for Kind::frame until the next call
  };

  explicit Decoder(ApiMode mode, std::size_t max_frame_data = kDefaultMaxFrameData);

  // Consumes bytes from the front of `input` until a frame completes, an error is found, or the
  // input runs out (need_more). Call repeatedly until need_more; then feed the next chunk.
  Event next(std::span<const std::uint8_t>& input);

  // End of stream (or the port closed / an idle gap): a partial frame is reported as an error
  // (truncated or dangling-escape) and the decoder is reset. Returns nullopt if nothing was pending.
  std::optional<DecodeError> finish();

  // Drops any partial frame without counting it (e.g. after reopening a port).
  void reset();

  // Convenience: feeds a whole chunk, calling on_frame(span frame_data) and on_error(DecodeError).
  template <class OnFrame, class OnError>
  void feed(std::span<const std::uint8_t> chunk, OnFrame&& on_frame, OnError&& on_error) {
    for (;;) {
      const Event e = next(chunk);
      if (e.kind == Event::Kind::need_more) return;
      if (e.kind == Event::Kind::frame)
        on_frame(e.frame_data);
      else
        on_error(e.error);
    }
  }

  ApiMode mode() const { return mode_; }
  std::size_t max_frame_data() const { return max_frame_data_; }
  const DecoderCounters& counters() const { return counters_; }
  bool in_frame() const { return state_ != State::hunt; }

 private:
  enum class State : std::uint8_t { hunt, length_hi, length_lo, body, checksum };

  Event error(DecodeError e);
  Event step(std::span<const std::uint8_t>& input);
  void start_frame();
  void replay_after_delimiter(std::span<const std::uint8_t>& rest, bool with_body, std::uint8_t last);

  ApiMode mode_;
  std::size_t max_frame_data_;
  State state_ = State::hunt;
  bool escape_pending_ = false;
  bool in_garbage_ = false;  // a no-start-delimiter error was already reported for this run
  std::uint16_t length_ = 0;
  std::uint8_t length_hi_ = 0;
  std::size_t filled_ = 0;
  std::uint8_t sum_ = 0;
  std::vector<std::uint8_t> body_;
  // API 1 only: after a bad checksum or an oversized length, the bytes after the bad delimiter are
  // scanned again (a real frame may start inside what looked like one). They are replayed from here.
  std::vector<std::uint8_t> replay_;
  std::size_t replay_pos_ = 0;
  bool replaying_ = false;        // step() is reading from replay_
  bool replay_replaced_ = false;  // step() rebuilt replay_ while reading from it
  DecoderCounters counters_;
};

// ---- encoders (no heap) ----

// Worst-case encoded size of a frame carrying `frame_data_len` octets of frame data.
constexpr std::size_t max_encoded_size(std::size_t frame_data_len, ApiMode mode) {
  return mode == ApiMode::escaped ? 1 + 2 * (2 + frame_data_len + 1) : 1 + 2 + frame_data_len + 1;
}
inline constexpr std::size_t kTxRequestOverhead = 14;  // type..options, before RF data
inline constexpr std::size_t kAtCommandOverhead = 4;   // type, frame id, 2 command octets

// Each returns the number of bytes written into `out`, or 0 if `out` is too small (nothing useful
// is left in `out` then) or the frame would exceed the 16-bit length.
std::size_t encode_tx_request(const TxRequest& tx, ApiMode mode, std::span<std::uint8_t> out);
std::size_t encode_at_command(std::uint8_t frame_id, std::string_view command,
                              std::span<const std::uint8_t> parameter, ApiMode mode,
                              std::span<std::uint8_t> out);
// Any frame from its raw frame data (type octet first): used by tests and the simulator.
std::size_t encode_frame(std::span<const std::uint8_t> frame_data, ApiMode mode, std::span<std::uint8_t> out);

// A Transmit Request addressed to every node (Dest64 000000000000FFFF, Dest16 FFFE).
inline TxRequest broadcast_request(std::uint8_t frame_id, std::uint8_t radius,
                                   std::span<const std::uint8_t> data) {
  TxRequest tx;
  tx.frame_id = frame_id;
  tx.dest64 = kBroadcast64;
  tx.dest16 = kUnknown16;
  tx.radius = radius;
  tx.data = data;
  return tx;
}

}  // namespace mqttsn::radio::xbee
