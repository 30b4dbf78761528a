#pragma once
// The broker identities of nodes in per-node upstream mode (`[upstream] credentials_file`): one line
// per node, or per group of nodes, giving what its own MQTT connection logs in with.
//
//   # <client id or pattern>  key=value ...
//   sensor-17      username=sensor-17 password_file=/etc/mqttsn-gw/pw/sensor-17
//   kitchen-%c     username=%c password=s3cret
//   %c             username=dev-%c password_file=/etc/mqttsn-gw/pw/%c cert_file=... key_file=...
//
// The first field is a client id, or a pattern in which one `%c` stands for any non-empty text. In
// the values `%c` is the node's whole client id. Keys: username, password, password_file (first line),
// cert_file and key_file (together). An exact client id wins over patterns; patterns are tried in file
// order. A node no line names has no identity, and a per-node gateway refuses it. Reloaded on SIGHUP
// with the admission list: a file with an error is rejected whole and the identities in force stay.
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "conf/error.hpp"

namespace mqttsn::conf {

struct NodeCredential {
  std::string username;
  std::string password;                 // empty: none, or see password_file
  std::filesystem::path password_file;  // read when the node connects
  std::filesystem::path cert_file;
  std::filesystem::path key_file;
  friend bool operator==(const NodeCredential&, const NodeCredential&) = default;
};

struct NodeCredentials {
  // The identity of `client_id` with `%c` expanded; nullopt when no line names it.
  std::optional<NodeCredential> find(std::string_view client_id) const;
  std::size_t size() const { return exact.size() + patterns.size(); }

  struct Pattern {
    std::string prefix, suffix;  // around the one %c
    NodeCredential credential;
  };
  std::map<std::string, NodeCredential, std::less<>> exact;
  std::vector<Pattern> patterns;
};

struct NodeCredentialsResult {
  std::shared_ptr<const NodeCredentials> credentials;  // set when there were no errors
  ConfigErrors errors;
};

NodeCredentialsResult parse_node_credentials(std::string_view text, const std::string& file_name,
                                             const std::filesystem::path& base_dir = {});
NodeCredentialsResult load_node_credentials(const std::filesystem::path& file);

// The password a credential gives: the literal one, else the first line of its password_file.
// nullopt with `error` set when the file cannot be read; nullopt and no error when there is none.
std::optional<std::string> node_password(const NodeCredential& c, std::string& error);

}  // namespace mqttsn::conf
