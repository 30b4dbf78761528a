#include "conf/admission_list.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "conf/text_file.hpp"

namespace mqttsn::conf {
namespace {

std::optional<std::uint16_t> parse_port(std::string_view text) {
  if (text.empty() || text.size() > 5 || text.find_first_not_of("0123456789") != std::string_view::npos)
    return std::nullopt;
  const unsigned long value = std::stoul(std::string(text));
  if (value == 0 || value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

}  // namespace

std::optional<AddressPin> AddressPin::parse(std::string_view text) {
  AddressPin pin;
  if (text == "serial") {
    pin.kind = AddressKind::serial;
    return pin;
  }
  if (text.substr(0, 5) == "xbee:") {
    const auto hex = text.substr(5);
    if (hex.size() != 16 || hex.find_first_not_of("0123456789abcdefABCDEF") != std::string_view::npos)
      return std::nullopt;
    pin.kind = AddressKind::xbee;
    pin.size = 8;
    for (std::size_t i = 0; i < 8; ++i)
      pin.bytes[i] = static_cast<std::uint8_t>(std::stoul(std::string(hex.substr(2 * i, 2)), nullptr, 16));
    return pin;
  }
  if (text.substr(0, 5) == "dtls:") {
    pin.identity = text.substr(5);
    if (pin.identity.empty() || pin.identity.size() > 128) return std::nullopt;
    return pin;
  }
  if (text.substr(0, 4) != "udp:") return std::nullopt;
  auto rest = text.substr(4);
  std::string host;
  std::string_view port_text;
  if (!rest.empty() && rest.front() == '[') {  // [v6] or [v6]:port
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = rest.substr(1, close - 1);
    const auto after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::nullopt;
      port_text = after.substr(1);
      if (port_text.empty()) return std::nullopt;
    }
  } else if (std::count(rest.begin(), rest.end(), ':') == 1) {  // v4:port
    const auto colon = rest.find(':');
    host = rest.substr(0, colon);
    port_text = rest.substr(colon + 1);
    if (port_text.empty()) return std::nullopt;
  } else {  // v4, or a bare v6 without port
    host = rest;
  }
  if (inet_pton(AF_INET, host.c_str(), pin.bytes.data()) == 1) {
    pin.kind = AddressKind::udp4;
    pin.size = 4;
  } else if (inet_pton(AF_INET6, host.c_str(), pin.bytes.data()) == 1) {
    pin.kind = AddressKind::udp6;
    pin.size = 16;
  } else {
    return std::nullopt;
  }
  if (!port_text.empty()) {
    pin.port = parse_port(port_text);
    if (!pin.port) return std::nullopt;
  }
  return pin;
}

std::optional<std::string> AddressPin::parse_node_id(std::string_view text) {
  if (text.substr(0, 5) != "node:") return std::nullopt;
  const auto hex = text.substr(5);
  if (hex.empty() || hex.size() % 2 != 0 || hex.size() > 64 ||
      hex.find_first_not_of("0123456789abcdefABCDEF") != std::string_view::npos)
    return std::nullopt;
  std::string id;
  for (std::size_t i = 0; i < hex.size(); i += 2)
    id.push_back(static_cast<char>(std::stoul(std::string(hex.substr(i, 2)), nullptr, 16)));
  return id;
}

bool AddressPin::matches(const ConnectOrigin& from, std::string_view node_identity) const {
  if (node_id && (!from.forwarded_node_id || *from.forwarded_node_id != *node_id)) return false;
  const LinkAddress& address = from.address;
  if (!identity.empty()) return identity == node_identity;
  if (address.kind != kind) return false;
  if (kind == AddressKind::serial) return true;
  if (address.size < size || std::memcmp(address.bytes.data(), bytes.data(), size) != 0) return false;
  return !port || address.port() == *port;
}

AdmissionList::Result AdmissionList::parse(std::string_view text, const std::string& file_name) {
  Result result;
  AdmissionList list;
  std::unordered_map<std::string, int> unpinned_line, pinned_line;
  for (const auto& [number, line] : content_lines(text)) {
    const auto blank = line.find_first_of(" \t");
    const std::string client(line.substr(0, blank));
    auto rest = blank == std::string_view::npos ? std::string_view{} : trim(line.substr(blank));
    auto error = [&](std::string message) {
      result.errors.push_back({file_name, number, "", std::move(message)});
    };
    // A last word per_node: the node's own broker connection (mixed mode).
    constexpr std::string_view kPerNode = "per_node";
    if (rest.size() >= kPerNode.size() && rest.substr(rest.size() - kPerNode.size()) == kPerNode &&
        (rest.size() == kPerNode.size() ||
         std::string_view(" \t").find(rest[rest.size() - kPerNode.size() - 1]) != std::string_view::npos)) {
      rest = trim(rest.substr(0, rest.size() - kPerNode.size()));
      list.per_node_.emplace(client, number);
      if (list.first_per_node_line_ == 0) list.first_per_node_line_ = number;
    }
    // An optional second word: the wireless node id behind a forwarder at that address.
    std::string_view address_text = rest, node_text;
    if (const auto gap = rest.find_first_of(" \t"); gap != std::string_view::npos) {
      address_text = rest.substr(0, gap);
      node_text = trim(rest.substr(gap));
      if (node_text.find_first_of(" \t") != std::string_view::npos) {
        error("expected \"<client id> [address [node:<hex>]] [per_node]\", got more text after the node id");
        continue;
      }
    }
    auto& pins = list.clients_[client];
    if (rest.empty()) {
      if (auto it = pinned_line.find(client); it != pinned_line.end()) {
        error("client " + in_quotes(client) +
              " is listed without an address here but pinned to one on line " + std::to_string(it->second));
        continue;
      }
      unpinned_line.emplace(client, number);
      continue;
    }
    auto pin = AddressPin::parse(address_text);
    if (!pin) {
      error("invalid address " + in_quotes(address_text) +
            "; expected xbee:<16 hex digits>, udp:<IPv4>[:port], udp:[<IPv6>][:port], dtls:<identity> or "
            "serial");
      continue;
    }
    if (!node_text.empty()) {
      pin->node_id = AddressPin::parse_node_id(node_text);
      if (!pin->node_id) {
        error("invalid node id " + in_quotes(node_text) + "; expected node:<hex octets>, e.g. node:4E31");
        continue;
      }
    }
    if (auto it = unpinned_line.find(client); it != unpinned_line.end()) {
      error("client " + in_quotes(client) + " is pinned to an address here but listed without one on line " +
            std::to_string(it->second));
      continue;
    }
    pinned_line.emplace(client, number);
    if (!pin->identity.empty()) list.identity_clients_[pin->identity].push_back(client);
    pins.push_back(*pin);
  }
  if (result.errors.empty()) result.list = std::move(list);
  return result;
}

AdmissionList::Result AdmissionList::load(const std::filesystem::path& file) {
  Result result;
  const auto text = read_text_file(file, file.string(), result.errors);
  if (!text) return result;
  return parse(*text, file.string());
}

AdmissionList::Verdict AdmissionList::check(std::string_view client_id, const ConnectOrigin& from,
                                            std::string_view identity) const {
  // An identity pinned to client ids may use those only: a node authenticated as A is not B.
  if (!identity.empty()) {
    if (const auto bound = identity_clients_.find(std::string(identity));
        bound != identity_clients_.end() &&
        std::find(bound->second.begin(), bound->second.end(), client_id) == bound->second.end())
      return Verdict::wrong_address;
  }
  const auto it = clients_.find(std::string(client_id));
  if (it == clients_.end()) return Verdict::not_listed;
  if (it->second.empty()) return Verdict::admitted;
  for (const auto& pin : it->second)
    if (pin.matches(from, identity)) return Verdict::admitted;
  return Verdict::wrong_address;
}

}  // namespace mqttsn::conf
