#pragma once
// The one small interface every link (XBee coordinator, plain serial line, UDP socket) implements.
// A link lives on the gateway's libuv loop: start() registers its handles, close() releases them.
// Received datagrams and delivery failures come out through LinkCallbacks, on the loop thread.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <uv.h>

#include "gateway/core/counter_set.hpp"
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

// Named counters, in the order the status socket and the metrics show them (for_each). Not every link
// uses every counter. Each is declared once, here (the pattern: gateway/core/counter_set.hpp).
#define MQTTSN_LINK_COUNTERS(X)                                                                  \
  X(datagrams_in)                                                                                \
  X(datagrams_out)                                                                               \
  X(broadcasts_out)                                                                              \
  X(frames_in) /* link frames (XBee API frames of any type, njh packets, UDP datagrams) */       \
  X(frames_out)                                                                                  \
  X(bytes_in)  /* bytes read from the device / socket */                                         \
  X(bytes_out) /* bytes written */                                                               \
  X(bad_checksum)                                                                                \
  X(malformed_frames)   /* truncated, bad escapes, too-short frames, bad lengths */              \
  X(garbage_bytes)      /* bytes outside any frame */                                            \
  X(unknown_frames)     /* frame types the link does not handle */                               \
  X(oversize_dropped)   /* incoming frames/datagrams above the maximum */                        \
  X(oversize_refused)   /* outgoing datagrams above max_payload(), not sent */                   \
  X(idle_discards)      /* plain serial: partial packets dropped after a gap */                  \
  X(tx_failures)        /* XBee 0x8B failures + status timeouts; UDP send errors */              \
  X(tx_status_timeouts) /* XBee: no 0x8B within the timeout */                                   \
  X(modem_status)       /* XBee 0x8A frames */                                                   \
  X(queue_full_drops)   /* write queue full, datagram dropped */                                 \
  X(not_open_drops)     /* send while the port is closed (unplugged) */                          \
  X(unplugs)                                                                                     \
  X(open_failures)                                                                               \
  X(reopen_attempts)                                                                             \
  X(opens)                                                                                       \
  X(receive_buffer_drops) /* UDP: datagrams the kernel dropped, receive buffer full */           \
  X(dtls_sessions)        /* DTLS: associations now (a gauge) */                                 \
  X(dtls_handshakes)      /* in progress now (a gauge) */                                        \
  X(dtls_handshakes_ok)                                                                          \
  X(dtls_resumptions)         /* handshakes that resumed a session (ticket or id) */             \
  X(dtls_failed_psk_identity) /* handshake failures by reason: PSK identity unknown */           \
  X(dtls_failed_certificate)  /* client certificate missing or not verified */                   \
  X(dtls_failed_no_cipher)    /* no cipher suite in common */                                    \
  X(dtls_failed_peer_alert)   /* the client aborted with an alert */                             \
  X(dtls_failed_other)                                                                           \
  X(dtls_handshake_timeouts) /* not finished in time (a wrong PSK key ends here: DTLS drops */   \
                             /* records that fail to decrypt without a word) */                  \
  X(dtls_cookies_sent)       /* HelloVerifyRequests: the only answer to an unknown peer */       \
  X(dtls_cookie_mismatches)  /* ClientHellos with a cookie that did not verify */                \
  X(dtls_refused_busy)       /* verified ClientHellos refused: max_handshakes in progress */     \
  X(dtls_refused_full)       /* refused: max_sessions, none idle to close */                     \
  X(dtls_evicted)            /* associations closed to make room (longest idle first) */         \
  X(dtls_idle_closed)        /* associations without an MQTT-SN session closed after idle */     \
  X(dtls_closed_by_peer)     /* close_notify or a fatal alert from the node */                   \
  X(dtls_alerts_received)                                                                        \
  X(dtls_alerts_sent)                                                                            \
  X(dtls_stray_records)        /* records from peers without an association, not ClientHellos */ \
  X(dtls_bad_records)          /* to an association, cut short or too short: dropped unread */   \
  X(dtls_no_association_drops) /* sends to a peer without an association */                      \
  X(dtls_clear_discovery)      /* SEARCHGW passed up and GWINFO sent in clear */

struct LinkStats {
  MQTTSN_COUNTER_MEMBERS(MQTTSN_LINK_COUNTERS);
};
static_assert(lists_every_member<LinkStats>());

class Link {
 public:
  virtual ~Link() = default;
  virtual std::string_view name() const = 0;  // "xbee", "serial", "udp", "dtls"
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
  // What the link's hardware says about itself (an XBee coordinator's firmware, PAN id, channel):
  // name and value, for the status socket and the broker-side gateway description.
  virtual std::vector<std::pair<std::string, std::string>> facts() const { return {}; }
  // Whether the node at `node` now holds an MQTT-SN session (connected or asleep) or not (it left,
  // was lost, or its session ended). A link that keeps per-node state for sessions (DTLS
  // associations) lets it go by this; the others ignore it.
  virtual void note_session(const LinkAddress& node, bool holds_session) {
    (void)node;
    (void)holds_session;
  }
  std::uint8_t index() const { return index_; }

 protected:
  explicit Link(std::uint8_t index) : index_(index) {}
  std::uint8_t index_;
};

}  // namespace mqttsn::radio
