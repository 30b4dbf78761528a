#include "conf/placeholders.hpp"

#include <unistd.h>

namespace mqttsn::conf {
namespace {

enum class Kind { host_name, gateway_id, client_id, percent, unknown };

Kind kind_of(char c) {
  switch (c) {
    case 'h':
      return Kind::host_name;
    case 'g':
      return Kind::gateway_id;
    case 'c':
    case 'u':
      return Kind::client_id;
    case '%':
      return Kind::percent;
    default:
      return Kind::unknown;
  }
}

bool applies(Kind kind, const PlaceholderValues& v) {
  switch (kind) {
    case Kind::host_name:
      return v.host_name.has_value();
    case Kind::gateway_id:
      return v.gateway_id.has_value();
    case Kind::client_id:
      return v.client_id.has_value();
    case Kind::percent:
      return true;
    case Kind::unknown:
      return false;
  }
  return false;
}

std::string valid_here(const PlaceholderValues& v) {
  std::string out = "valid: ";
  if (v.host_name) out += "%h (host name), ";
  if (v.gateway_id) out += "%g (gateway id), ";
  if (v.client_id) out += "%c and %u (client id), ";
  return out + "%%";
}

const char* meaning(Kind kind) {
  switch (kind) {
    case Kind::host_name:
      return "host name";
    case Kind::gateway_id:
      return "gateway id";
    case Kind::client_id:
      return "client id";
    case Kind::percent:
    case Kind::unknown:
      break;
  }
  return "";
}

}  // namespace

std::optional<std::string> placeholder_problem(std::string_view tmpl, const PlaceholderValues& applicable) {
  for (std::size_t i = 0; i < tmpl.size(); ++i) {
    if (tmpl[i] != '%') continue;
    if (i + 1 == tmpl.size()) return "a '%' at the end; write %% for a percent sign";
    const char next = tmpl[++i];
    const Kind kind = kind_of(next);
    if (kind == Kind::unknown)
      return std::string("unknown placeholder '%") + next + "'; " + valid_here(applicable);
    if (!applies(kind, applicable))
      return std::string("'%") + next + "' (" + meaning(kind) + ") does not apply here; " +
             valid_here(applicable);
  }
  return std::nullopt;
}

std::string expand_placeholders(std::string_view tmpl, const PlaceholderValues& values) {
  std::string out;
  out.reserve(tmpl.size());
  for (std::size_t i = 0; i < tmpl.size(); ++i) {
    const Kind kind = tmpl[i] == '%' && i + 1 < tmpl.size() ? kind_of(tmpl[i + 1]) : Kind::unknown;
    if (!applies(kind, values)) {
      out += tmpl[i];
      continue;
    }
    ++i;
    switch (kind) {
      case Kind::host_name:
        out += *values.host_name;
        break;
      case Kind::gateway_id:
        out += std::to_string(*values.gateway_id);
        break;
      case Kind::client_id:
        out += *values.client_id;
        break;
      case Kind::percent:
        out += '%';
        break;
      case Kind::unknown:
        break;
    }
  }
  return out;
}

bool uses_client_id(std::string_view tmpl) {
  for (std::size_t i = 0; i + 1 < tmpl.size(); ++i) {
    if (tmpl[i] != '%') continue;
    if (kind_of(tmpl[++i]) == Kind::client_id) return true;
  }
  return false;
}

std::string local_host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

}  // namespace mqttsn::conf
