#pragma once
// The one small interface every link (XBee coordinator, plain serial line, UDP socket) implements.
// A link lives on the gateway's libuv loop: start() registers its handles, close() releases them.
// Received datagrams and delivery failures come out through LinkCallbacks, on the loop thread.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>

#include <uv.h>

#include "gateway/core/link_address.hpp"
#include "gateway/core/messages.hpp"

namespace mqttsn::radio {

using mqttsn::Bytes;
using mqttsn::LinkAddress;

struct LinkCallbacks {
  // `datagram` is valid during the call only.
  std::function<void(const LinkAddress& from, Bytes datagram)> on_datagram;
  // A unicast the link could not deliver (XBee 0x8B failure or no status in time).
  std::function<void(const LinkAddress& to)> on_delivery_failure;
};

// Named counters: the status socket prints them with for_each. Not every link uses every counter.
struct LinkStats {
  std::uint64_t datagrams_in = 0;
  std::uint64_t datagrams_out = 0;
  std::uint64_t broadcasts_out = 0;
  std::uint64_t frames_in = 0;  // link frames (XBee API frames of any type, njh packets, UDP datagrams)
  std::uint64_t frames_out = 0;
  std::uint64_t bytes_in = 0;   // bytes read from the device / socket
  std::uint64_t bytes_out = 0;  // bytes written
  std::uint64_t bad_checksum = 0;
  std::uint64_t malformed_frames = 0;    // truncated, bad escapes, too-short frames, bad lengths
  std::uint64_t garbage_bytes = 0;       // bytes outside any frame
  std::uint64_t unknown_frames = 0;      // frame types the link does not handle
  std::uint64_t oversize_dropped = 0;    // incoming frames/datagrams above the maximum
  std::uint64_t oversize_refused = 0;    // outgoing datagrams above max_payload(), not sent
  std::uint64_t idle_discards = 0;       // plain serial: partial packets dropped after a gap
  std::uint64_t tx_failures = 0;         // XBee 0x8B failures + status timeouts; UDP send errors
  std::uint64_t tx_status_timeouts = 0;  // XBee: no 0x8B within the timeout
  std::uint64_t modem_status = 0;        // XBee 0x8A frames
  std::uint64_t queue_full_drops = 0;    // write queue full, datagram dropped
  std::uint64_t not_open_drops = 0;      // send while the port is closed (unplugged)
  std::uint64_t unplugs = 0;
  std::uint64_t open_failures = 0;
  std::uint64_t reopen_attempts = 0;
  std::uint64_t opens = 0;
  std::uint64_t receive_buffer_drops = 0;  // UDP: datagrams the kernel dropped, receive buffer full

  template <class F>
  void for_each(F&& f) const {
    f("datagrams_in", datagrams_in);
    f("datagrams_out", datagrams_out);
    f("broadcasts_out", broadcasts_out);
    f("frames_in", frames_in);
    f("frames_out", frames_out);
    f("bytes_in", bytes_in);
    f("bytes_out", bytes_out);
    f("bad_checksum", bad_checksum);
    f("malformed_frames", malformed_frames);
    f("garbage_bytes", garbage_bytes);
    f("unknown_frames", unknown_frames);
    f("oversize_dropped", oversize_dropped);
    f("oversize_refused", oversize_refused);
    f("idle_discards", idle_discards);
    f("tx_failures", tx_failures);
    f("tx_status_timeouts", tx_status_timeouts);
    f("modem_status", modem_status);
    f("queue_full_drops", queue_full_drops);
    f("not_open_drops", not_open_drops);
    f("unplugs", unplugs);
    f("open_failures", open_failures);
    f("reopen_attempts", reopen_attempts);
    f("opens", opens);
    f("receive_buffer_drops", receive_buffer_drops);
  }
};

class Link {
 public:
  virtual ~Link() = default;
  virtual std::string_view name() const = 0;  // "xbee", "serial", "udp"
  // Registers the link's handles on `loop`. 0 on success, else a negative libuv error code. A
  // serial device that cannot be opened yet is not an error: the link logs it and keeps retrying.
  virtual int start(uv_loop_t* loop) = 0;
  // Closes every uv handle the link owns; the loop can then end. The link may be destroyed right
  // after close() returns (handles are freed by their own close callbacks).
  virtual void close() = 0;
  // Sends one datagram. False if it was not sent (too large, port closed, queue full), counted.
  virtual bool send(const LinkAddress& to, Bytes datagram) = 0;
  // Sends one datagram to every node in reach. False if the link cannot broadcast.
  virtual bool broadcast(Bytes datagram, std::uint8_t radius) = 0;
  virtual std::size_t max_payload() const = 0;
  virtual const LinkStats& stats() const = 0;
  virtual bool is_up() const = 0;  // device open / socket bound
  std::uint8_t index() const { return index_; }

 protected:
  explicit Link(std::uint8_t index) : index_(index) {}
  std::uint8_t index_;
};

}  // namespace mqttsn::radio
