#include "conf/placeholders.hpp"

namespace mqttsn::conf {

std::optional<std::string> placeholder_problem(std::string_view tmpl) {
  for (std::size_t i = 0; i < tmpl.size(); ++i) {
    if (tmpl[i] != '%') continue;
    if (i + 1 == tmpl.size()) return "a '%' at the end; write %% for a percent sign";
    const char next = tmpl[i + 1];
    if (next != 'h' && next != 'g' && next != '%')
      return std::string("unknown placeholder '%") + next + "'; valid: %h (host name), %g (gateway id), %%";
    ++i;
  }
  return std::nullopt;
}

std::string expand_placeholders(std::string_view tmpl, std::string_view host_name, std::uint8_t gateway_id) {
  std::string out;
  for (std::size_t i = 0; i < tmpl.size(); ++i) {
    if (tmpl[i] == '%' && i + 1 < tmpl.size()) {
      const char next = tmpl[i + 1];
      if (next == 'h') {
        out += host_name;
        ++i;
        continue;
      }
      if (next == 'g') {
        out += std::to_string(gateway_id);
        ++i;
        continue;
      }
      if (next == '%') {
        out += '%';
        ++i;
        continue;
      }
    }
    out += tmpl[i];
  }
  return out;
}

}  // namespace mqttsn::conf
