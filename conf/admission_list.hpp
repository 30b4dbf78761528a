#pragma once
// The admission list: which MQTT-SN client ids may connect, optionally pinned to radio addresses.
// One client per line, '#' starts a comment line:
//
//   sensor1 xbee:0013A20040522BAA   <- only from this XBee (64-bit address, hex)
//   sensor2 udp:192.168.1.20        <- only from this host, any port
//   sensor3 udp:[fd00::7]:10000     <- only from this address and port
//   sensor4 serial                  <- only over a plain serial line
//   sensor5 dtls:node-5             <- only from a DTLS node authenticated as "node-5" (PSK identity
//                                      or certificate SAN/CN), whatever its address
//   sensor6 dtls:fwd-1 node:4E31    <- only as wireless node 4E31 (hex) behind the forwarder
//                                      authenticated as "fwd-1" (any pin may take a node part)
//   tester                          <- from anywhere
//   meter1 per_node                 <- its own broker connection in a shared gateway (mixed mode;
//                                      any line may end with per_node, after its address)
//
// An identity pinned to client ids is bound to them: a node authenticated as "node-5" may CONNECT
// only as a client id pinned to dtls:node-5, even where unlisted client ids are allowed.
// A client may be listed on several lines to allow several addresses. Listing one both with and
// without an address is an error (the unpinned line would silently cancel the pinning).
#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "conf/error.hpp"
#include "gateway/core/link_address.hpp"
#include "gateway/core/outputs.hpp"

namespace mqttsn::conf {

struct AddressPin {
  AddressKind kind = AddressKind::none;  // xbee, udp4, udp6 or serial; none for an identity pin
  std::string identity;                  // dtls:<identity>: the node's authenticated identity
  std::array<std::uint8_t, 16> bytes{};  // 8 for xbee, 4 or 16 for udp
  std::uint8_t size = 0;
  std::optional<std::uint16_t> port;  // udp only; nullopt: any port
  // node:<hex>: only as this wireless node behind a forwarder at the address (or identity) above.
  std::optional<std::string> node_id;

  // `identity`: the authenticated identity of the node at `from.address` ("" for none).
  bool matches(const ConnectOrigin& from, std::string_view identity = {}) const;
  // The address (or identity) part of a line; the node part is read apart (parse_node_id).
  static std::optional<AddressPin> parse(std::string_view text);
  static std::optional<std::string> parse_node_id(std::string_view text);
};

class AdmissionList {
 public:
  enum class Verdict { admitted, not_listed, wrong_address };

  struct Result;
  static Result parse(std::string_view text, const std::string& file_name);
  static Result load(const std::filesystem::path& file);

  Verdict check(std::string_view client_id, const ConnectOrigin& from, std::string_view identity = {}) const;
  std::size_t size() const { return clients_.size(); }
  // Marked per_node: the node gets its own broker connection even in a shared gateway.
  bool per_node(std::string_view client_id) const { return per_node_.count(std::string(client_id)) != 0; }
  // The first line with a per_node mark (0: none), for the error when nothing can give it an identity.
  int first_per_node_line() const { return first_per_node_line_; }

 private:
  // An empty pin list means "from any address".
  std::unordered_map<std::string, std::vector<AddressPin>> clients_;
  std::unordered_map<std::string, std::vector<std::string>> identity_clients_;  // identity -> client ids
  std::unordered_map<std::string, int> per_node_;                               // client id -> its line
  int first_per_node_line_ = 0;
};

struct AdmissionList::Result {
  std::optional<AdmissionList> list;  // set when there were no errors
  ConfigErrors errors;
};

}  // namespace mqttsn::conf
