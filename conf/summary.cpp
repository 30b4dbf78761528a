#include "conf/summary.hpp"

#include <cctype>
#include <cstdio>

namespace mqttsn::conf {
namespace {

std::string serial_text(const SerialPortSettings& p) {
  char buf[96];
  std::snprintf(buf, sizeof buf, " %u %u%c%u flow=%s", p.baud, p.data_bits,
                std::toupper(static_cast<unsigned char>(to_string(p.parity)[0])), p.stop_bits,
                to_string(p.flow_control));
  return p.device + buf;
}

std::string path_or_none(const std::filesystem::path& p) {
  return p.empty() ? "(none)" : p.string();
}

}  // namespace

std::string describe_config(const GatewayConfig& c) {
  std::string out = "configuration " + c.source.string() + "\n";
  out += "gateway id " + std::to_string(c.gateway.id) + ", advertise every " +
         format_duration(c.gateway.advertise_interval) + ", retry " +
         format_duration(c.gateway.retry_interval) + " x" + std::to_string(c.gateway.retry_count) + ", max " +
         std::to_string(c.gateway.limits.max_clients) + " clients\n";
  for (const auto& link : c.links) {
    out += "link " + link.name + " (" + to_string(link.kind()) + (link.enabled ? ")" : ", disabled)") + ": ";
    if (const auto* x = std::get_if<XbeeLinkConfig>(&link.settings))
      out += serial_text(x->port) + " api=" + std::to_string(x->api_mode) + " mtu=" + std::to_string(x->mtu);
    if (const auto* s = std::get_if<SerialLinkConfig>(&link.settings))
      out += serial_text(s->port) + " idle_gap=" + format_duration(s->idle_gap);
    if (const auto* u = std::get_if<UdpLinkConfig>(&link.settings))
      out += u->bind_address + ":" + std::to_string(u->port) + " advertise to " +
             (u->broadcast_address.empty() ? "(nowhere)"
                                           : u->broadcast_address + ":" + std::to_string(u->broadcast_port)) +
             (!u->dtls.enabled             ? ""
              : u->dtls.discovery_in_clear ? ", DTLS (SEARCHGW, GWINFO and ADVERTISE in clear)"
                                           : ", DTLS (no discovery)");
    out += "\n";
  }
  out += "upstream:";
  for (const auto& s : c.upstream.servers) out += " " + s;
  out += " as " + c.upstream.client_id;
  if (!c.upstream.username.empty()) {
    out += ", user " + c.upstream.username;
    if (!c.upstream.password_file.empty()) out += ", password from " + c.upstream.password_file.string();
    if (!c.upstream.password_env.empty()) out += ", password from $" + c.upstream.password_env;
  }
  out += "\n";
  out += std::string("access: anonymous ") + (c.access.allow_anonymous ? "allowed" : "refused") +
         ", clients " + path_or_none(c.access.clients_file) + ", acl " + path_or_none(c.access.acl_file) +
         ", predefined topics " + path_or_none(c.gateway.predefined_topics_file) + "\n";
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", c.status.mode);
  out += "status socket " + c.status.socket.string() + " (mode " + mode + "), store " +
         (c.store.enabled ? c.store.path.string() : std::string("disabled")) + ", log level " +
         log::name(c.logging.level) + (c.logging.packet_trace ? " with packet trace" : "") + "\n";
  return out;
}

}  // namespace mqttsn::conf
