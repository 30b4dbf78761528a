#include "web/options.hpp"

#include <charconv>
#include <fstream>

namespace mqttsn::web {

bool parse_listen(const std::string& text, ListenAddress& out, std::string& error) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) {
    error = "--listen " + text + ": expected ADDR:PORT";
    return false;
  }
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string port = text.substr(colon + 1);
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535) {
    error = "--listen " + text + ": the port must be 1-65535";
    return false;
  }
  out.host = host;
  out.port = static_cast<std::uint16_t>(value);
  return true;
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.starts_with("127.");
}

bool read_token_file(const std::string& path, std::string& token, std::string& error) {
  std::ifstream in(path);
  if (!in) {
    error = "--token-file " + path + ": cannot read it";
    return false;
  }
  std::getline(in, token);
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ' || token.back() == '\t'))
    token.pop_back();
  if (token.empty()) {
    error = "--token-file " + path + ": the first line is empty";
    return false;
  }
  return true;
}

std::string validate(const WebOptions& o, const ListenAddress& listen) {
  if (o.tls_cert.empty() != o.tls_key.empty()) return "--tls-cert and --tls-key go together";
  if (is_loopback(listen.host)) return {};
  // Anywhere else the page (and with --allow-requests, the kick button) faces a network.
  if (o.tls_cert.empty() || o.token.empty())
    return "listening on " + (listen.host.empty() ? std::string("all interfaces") : listen.host) +
           " needs --tls-cert, --tls-key and --token-file (only a loopback address may go without)";
  return {};
}

}  // namespace mqttsn::web
