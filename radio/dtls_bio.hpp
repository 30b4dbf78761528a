#pragma once
// A datagram BIO for OpenSSL's DTLS without a socket: OpenSSL 3.0 has no datagram-pair BIO, and a
// memory BIO loses the datagram boundaries DTLS relies on. This one hands OpenSSL exactly one
// received datagram per read (then "retry"), and passes every record OpenSSL writes to a sink as one
// datagram; the link owns the socket and does the I/O on its libuv loop. It also answers the
// datagram controls DTLS asks (MTU, flush, pending), so DTLSv1_listen and the handshake work on it.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>

#include <openssl/bio.h>

namespace mqttsn::radio {

struct DatagramBioState {
  // Called for each datagram OpenSSL writes. A datagram the socket cannot take is lost, as on any
  // UDP path: DTLS retransmits handshake flights itself, and application data is MQTT-SN's business.
  std::function<void(std::span<const std::uint8_t>)> sink;
  std::span<const std::uint8_t> pending;  // the datagram the next read returns; empty: none
  std::size_t mtu = 1400;                 // the largest datagram, record headers included
};

// A new BIO reading from and writing to `state`, which must outlive it. Null when out of memory.
BIO* new_datagram_bio(DatagramBioState* state);

// Hands `datagram` to the next read. The bytes must stay valid until the read happened (the link
// feeds a datagram and drives the SSL object in the same call).
inline void feed_datagram(DatagramBioState& state, std::span<const std::uint8_t> datagram) {
  state.pending = datagram;
}

}  // namespace mqttsn::radio
