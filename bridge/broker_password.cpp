#include "bridge/broker_password.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

namespace mqttsn::bridge {

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
