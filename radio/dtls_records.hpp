#pragma once
// What the DTLS link checks in a datagram before OpenSSL sees it, and the cipher suites it offers.
//
// RFC 6347 4.1.2.7 says a record that fails to decrypt is discarded without a word, so that a
// forged datagram cannot end an association. OpenSSL 3.0 keeps to that only for records long enough
// to hold the cipher's nonce and tag: a shorter one, and any CBC record whose MAC fails
// (encrypt-then-MAC), ends the association with a fatal alert. One spoofed datagram from a node's
// address would cut it off. So the link offers AEAD suites only, and drops a protected record too
// short for the negotiated suite before it reaches OpenSSL.
#include <openssl/ssl.h>

#include <cstddef>

#include "radio/link.hpp"

namespace mqttsn::radio {

// The server's cipher suites: AEAD only (AES-GCM, ChaCha20-Poly1305, AES-CCM and CCM-8) with
// (EC)DHE, PSK or both; no static RSA key exchange, anonymous or DSS. CCM and CCM-8 are not in
// OpenSSL's defaults but constrained nodes speak them (RFC 7925 names TLS_PSK_WITH_AES_128_CCM_8 and
// TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8).
inline constexpr const char* kDtlsServerCiphers =
    "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:PSK+AESGCM:PSK+CHACHA20:AESCCM:!kRSA:!aNULL:!DSS";

// The shortest protected record body the association's suite can produce: explicit nonce plus tag
// (AES-GCM and CCM: 8 + 16, CCM-8: 8 + 8, ChaCha20-Poly1305: 16). 0 before the handshake has chosen.
std::size_t min_protected_record(const SSL* ssl);

// Whether every record in `datagram` is whole (its length within the datagram) and, from epoch 1 on,
// at least `min_protected` long. A datagram that fails holds nothing a real peer sends.
bool records_well_formed(Bytes datagram, std::size_t min_protected);

}  // namespace mqttsn::radio
