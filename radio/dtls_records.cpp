#include "radio/dtls_records.hpp"

#include <openssl/evp.h>
#include <openssl/objects.h>

#include <cstring>

namespace mqttsn::radio {

namespace {
constexpr std::size_t kRecordHeader = 13;  // type, version, epoch, sequence number, length
constexpr std::size_t kExplicitNonce = 8;  // AES-GCM and AES-CCM in TLS 1.2 (RFC 5288, RFC 6655)
constexpr std::size_t kTag = 16, kShortTag = 8;
}  // namespace

std::size_t min_protected_record(const SSL* ssl) {
  const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl);
  if (cipher == nullptr) return 0;
  switch (SSL_CIPHER_get_cipher_nid(cipher)) {
    case NID_chacha20_poly1305:
      return kTag;
    case NID_aes_128_gcm:
    case NID_aes_256_gcm:
      return kExplicitNonce + kTag;
    case NID_aes_128_ccm:
    case NID_aes_256_ccm:
      return kExplicitNonce +
             (std::strstr(SSL_CIPHER_get_name(cipher), "CCM8") != nullptr ? kShortTag : kTag);
    default:
      return kExplicitNonce + kShortTag;  // not offered by the link; the shortest any suite allows
  }
}

bool records_well_formed(Bytes datagram, std::size_t min_protected) {
  while (!datagram.empty()) {
    if (datagram.size() < kRecordHeader) return false;
    const unsigned epoch = (datagram[3] << 8) | datagram[4];
    const std::size_t length = (static_cast<std::size_t>(datagram[11]) << 8) | datagram[12];
    if (datagram.size() - kRecordHeader < length) return false;
    if (epoch != 0 && length < min_protected) return false;
    datagram = datagram.subspan(kRecordHeader + length);
  }
  return true;
}

}  // namespace mqttsn::radio
