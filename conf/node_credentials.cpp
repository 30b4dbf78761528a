#include "conf/node_credentials.hpp"

#include <fstream>

#include "conf/text_file.hpp"

namespace mqttsn::conf {
namespace {

constexpr std::string_view kNode = "%c";

std::string expand(const std::string& value, std::string_view client_id) {
  std::string out;
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value.compare(i, kNode.size(), kNode) == 0) {
      out += client_id;
      ++i;
    } else {
      out += value[i];
    }
  }
  return out;
}

NodeCredential expanded(const NodeCredential& c, std::string_view client_id) {
  NodeCredential e;
  e.username = expand(c.username, client_id);
  e.password = expand(c.password, client_id);
  e.password_file = expand(c.password_file.string(), client_id);
  e.cert_file = expand(c.cert_file.string(), client_id);
  e.key_file = expand(c.key_file.string(), client_id);
  return e;
}

std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

}  // namespace

std::optional<NodeCredential> NodeCredentials::find(std::string_view client_id) const {
  if (auto it = exact.find(client_id); it != exact.end()) return expanded(it->second, client_id);
  for (const auto& p : patterns) {
    if (client_id.size() > p.prefix.size() + p.suffix.size() && client_id.starts_with(p.prefix) &&
        client_id.ends_with(p.suffix))
      return expanded(p.credential, client_id);
  }
  return std::nullopt;
}

NodeCredentialsResult parse_node_credentials(std::string_view text, const std::string& file_name,
                                             const std::filesystem::path& base_dir) {
  NodeCredentialsResult result;
  auto creds = std::make_shared<NodeCredentials>();
  std::map<std::string, int, std::less<>> first_line;
  for (const auto& [number, line] : content_lines(text)) {
    auto error = [&](std::string message) {
      result.errors.push_back({file_name, number, "", std::move(message)});
    };
    const auto f = fields(line);
    const std::string_view who = f.front();
    const auto first = who.find(kNode);
    if (first != std::string_view::npos && who.find(kNode, first + 1) != std::string_view::npos) {
      error("expected a client id or a pattern with one %c, got " + in_quotes(who));
      continue;
    }
    NodeCredential c;
    bool ok = true;
    for (std::size_t i = 1; i < f.size() && ok; ++i) {
      const auto eq = f[i].find('=');
      const std::string_view key = f[i].substr(0, eq);
      const std::string value(eq == std::string_view::npos ? std::string_view{} : f[i].substr(eq + 1));
      if (eq == std::string_view::npos || value.empty()) {
        error("expected key=value (username, password, password_file, cert_file, key_file), got " +
              in_quotes(f[i]));
        ok = false;
      } else if (key == "username") {
        c.username = value;
      } else if (key == "password") {
        c.password = value;
      } else if (key == "password_file") {
        c.password_file = resolve_path(base_dir, value);
      } else if (key == "cert_file") {
        c.cert_file = resolve_path(base_dir, value);
      } else if (key == "key_file") {
        c.key_file = resolve_path(base_dir, value);
      } else {
        error("unknown key " + in_quotes(key) +
              " (expected username, password, password_file, cert_file or key_file)");
        ok = false;
      }
    }
    if (!ok) continue;
    if (!c.password.empty() && !c.password_file.empty()) {
      error("set either password or password_file, not both");
      continue;
    }
    if ((!c.password.empty() || !c.password_file.empty()) && c.username.empty()) {
      error("a password needs a username (MQTT 3.1.1 section 3.1.2.9)");
      continue;
    }
    if (c.cert_file.empty() != c.key_file.empty()) {
      error("a client certificate needs both cert_file and key_file");
      continue;
    }
    if (auto it = first_line.find(who); it != first_line.end()) {
      error(in_quotes(who) + " is already given an identity on line " + std::to_string(it->second));
      continue;
    }
    first_line.emplace(std::string(who), number);
    if (first == std::string_view::npos)
      creds->exact.emplace(std::string(who), std::move(c));
    else
      creds->patterns.push_back(
          {std::string(who.substr(0, first)), std::string(who.substr(first + kNode.size())), std::move(c)});
  }
  if (result.errors.empty()) result.credentials = std::move(creds);
  return result;
}

NodeCredentialsResult load_node_credentials(const std::filesystem::path& file) {
  NodeCredentialsResult result;
  const auto text = read_text_file(file, file.string(), result.errors);
  if (!text) return result;
  return parse_node_credentials(*text, file.string(), file.parent_path());
}

std::optional<std::string> node_password(const NodeCredential& c, std::string& error) {
  if (!c.password.empty()) return c.password;
  if (c.password_file.empty()) return std::nullopt;
  std::ifstream in(c.password_file);
  std::string line;
  if (!in || !std::getline(in, line)) {
    error = "cannot read password_file " + c.password_file.string();
    return std::nullopt;
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

}  // namespace mqttsn::conf
