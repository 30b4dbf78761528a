#include "bridge/credentials.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

namespace mqttsn::bridge {

std::string expand_client_id(const std::string& pattern, const std::string& host_name,
                             const std::string& gateway_id) {
  std::string out;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '%' && i + 1 < pattern.size()) {
      char c = pattern[i + 1];
      if (c == 'h') {
        out += host_name;
        ++i;
        continue;
      }
      if (c == 'g') {
        out += gateway_id;
        ++i;
        continue;
      }
      if (c == '%') {
        out += '%';
        ++i;
        continue;
      }
    }
    out += pattern[i];
  }
  return out;
}

std::string local_host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

PasswordResult resolve_password(const BridgeOptions& o) {
  PasswordResult r;
  if (!o.password_file.empty()) {
    std::ifstream in(o.password_file);
    if (!in) {
      r.error = "cannot read password file " + o.password_file + ": " + std::strerror(errno);
      return r;
    }
    std::string line;
    std::getline(in, line);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    r.password = line;
    return r;
  }
  if (!o.password_env.empty()) {
    const char* v = std::getenv(o.password_env.c_str());
    if (v == nullptr) {
      r.error = "environment variable " + o.password_env + " (password) is not set";
      return r;
    }
    r.password = v;
    return r;
  }
  if (!o.password.empty()) r.password = o.password;
  return r;
}

}  // namespace mqttsn::bridge
