#pragma once
// What a DTLS link is made with. Apart from radio/dtls_link.hpp so that the daemon can describe a
// link without OpenSSL's headers: the link itself is loaded at run time (radio/dtls_module.hpp).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "radio/udp_link.hpp"

namespace mqttsn::radio {

using PskKeyTable = std::map<std::string, std::vector<std::uint8_t>, std::less<>>;

struct DtlsLinkOptions {
  UdpLinkOptions udp;  // max_datagram is the record size: max_payload() is smaller by the overhead
  std::shared_ptr<const PskKeyTable> psk_keys;  // null or empty: no PSK
  std::string cert_file, key_file;              // server certificate (chain) and key; "" = none
  std::string ca_file;                          // verifies client certificates; "" = none asked
  bool require_client_cert = false;
  std::size_t max_sessions = 1000;
  std::size_t max_handshakes = 64;
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(5)};  // associations without a session
  std::chrono::milliseconds handshake_timeout{std::chrono::seconds(30)};
  std::chrono::milliseconds cookie_secret_lifetime{
      std::chrono::minutes(5)};  // a cookie stays valid 1-2 x this
  bool discovery_in_clear = true;
};

// DTLS 1.2 with the AEAD suites the link offers (radio/dtls_records.hpp): 13 octets of record header,
// 8 of explicit nonce (AES-GCM, CCM), up to 16 of tag.
inline constexpr std::size_t kDtlsRecordOverhead = 13 + 8 + 16;

}  // namespace mqttsn::radio
