// mqttsn-gw: the MQTT-SN 1.2 to MQTT gateway daemon. Parses the command line, loads and checks the
// configuration, then hands everything to the Daemon's loop.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "conf/config_loader.hpp"
#include "conf/reload.hpp"
#include "gateway/app/daemon.hpp"
#include "gateway/app/log_sink.hpp"
#include "gateway/app/options_mapping.hpp"
#include "gateway/app/version.hpp"
#include "gateway/core/log.hpp"

namespace {

// The names are printed as the broker will see them: the loader expanded their placeholders.
void print_plan(const mqttsn::conf::GatewayConfig& c, const mqttsn::conf::ReloadableParts& parts) {
  using namespace mqttsn::conf;
  std::printf("configuration %s is valid\n", c.source.c_str());
  std::printf("gateway id %u, advertise every %s, T_RETRY %s x %u, keep-alive factor %.2f\n", c.gateway.id,
              format_duration(c.gateway.advertise_interval).c_str(),
              format_duration(c.gateway.retry_interval).c_str(), c.gateway.retry_count,
              c.gateway.keepalive_factor);
  for (const auto& l : c.links) {
    std::printf("link %s: %s%s", l.name.c_str(), to_string(l.kind()), l.enabled ? "" : " (disabled)");
    if (const auto* x = std::get_if<XbeeLinkConfig>(&l.settings))
      std::printf(" on %s at %u baud, API mode %u, MTU %u\n", x->port.device.c_str(), x->port.baud,
                  x->api_mode, x->mtu);
    else if (const auto* s = std::get_if<SerialLinkConfig>(&l.settings))
      std::printf(" on %s at %u baud\n", s->port.device.c_str(), s->port.baud);
    else if (const auto* u = std::get_if<UdpLinkConfig>(&l.settings))
      std::printf(" on %s port %u, broadcast %s:%u\n", u->bind_address.c_str(), u->port,
                  u->broadcast_address.c_str(), u->broadcast_port);
  }
  for (const auto& s : c.upstream.servers) std::printf("upstream server %s\n", s.c_str());
  std::printf("upstream client id %s, keep-alive %s, clean session %s, user %s\n",
              c.upstream.client_id.c_str(), format_duration(c.upstream.keepalive).c_str(),
              c.upstream.clean_session ? "yes" : "no",
              c.upstream.username.empty() ? "(none)" : c.upstream.username.c_str());
  std::printf("upstream presence topic %s\n",
              c.upstream.presence_topic.empty() ? "(none)" : c.upstream.presence_topic.c_str());
  std::printf("access: anonymous %s, admission list %s, ACL %s; %zu predefined topic(s)\n",
              c.access.allow_anonymous ? "allowed" : "refused",
              c.access.clients_file.empty() ? "(none)" : c.access.clients_file.c_str(),
              c.access.acl_file.empty() ? "(none: all allowed)" : c.access.acl_file.c_str(),
              parts.predefined_topics.size());
  std::printf("status socket %s; store %s\n", c.status.socket.c_str(),
              c.store.enabled ? c.store.path.c_str() : "(off)");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "mqttsn-gw: MQTT-SN 1.2 gateway for ZigBee (XBee) and UDP sensor nodes, to any MQTT 3.1.1 broker"};
  std::string config_file = "/etc/mqttsn-gw/gateway.toml";
  bool check_only = false;
  bool version = false;
  int verbosity = 0;
  app.add_option("-c,--config", config_file, "configuration file (TOML)");
  app.add_flag("--check-config", check_only, "validate the configuration, print what would run, exit 0 or 1");
  app.add_flag("--version", version, "print the version and exit");
  app.add_flag("-v,--verbose", verbosity, "-v: info, -vv: debug and a trace of every packet");
  CLI11_PARSE(app, argc, argv);

  if (version) {
    std::printf("mqttsn-gw %s\n", mqttsn::app::kVersion);
    return 0;
  }
  mqttsn::app::install_log_sink();

  auto loaded = mqttsn::conf::load_config(config_file);
  if (!loaded.ok()) {
    std::fprintf(stderr, "%s", mqttsn::conf::to_string(loaded.errors).c_str());
    std::fprintf(stderr, "mqttsn-gw: %zu error(s) in the configuration; not starting\n",
                 loaded.errors.size());
    return 1;
  }
  auto side = mqttsn::conf::load_reloadable(loaded.config);
  if (!side.ok()) {
    std::fprintf(stderr, "%s", mqttsn::conf::to_string(side.errors).c_str());
    std::fprintf(stderr, "mqttsn-gw: %zu error(s) in the files the configuration names; not starting\n",
                 side.errors.size());
    return 1;
  }
  if (check_only) {
    const auto credentials = mqttsn::app::check_link_credentials(loaded.config, *side.parts);
    for (const auto& error : credentials)
      std::fprintf(stderr, "%s: %s\n", config_file.c_str(), error.c_str());
    if (!credentials.empty()) {
      std::fprintf(stderr, "mqttsn-gw: %zu link(s) would not start; not starting\n", credentials.size());
      return 1;
    }
    print_plan(loaded.config, *side.parts);
    return 0;
  }

  using mqttsn::log::Level;
  Level level = loaded.config.logging.packet_trace ? Level::trace : loaded.config.logging.level;
  if (verbosity == 1 && level < Level::info) level = Level::info;
  if (verbosity >= 2) level = Level::trace;
  mqttsn::log::set_level(level);

  MQTTSN_LOG(notice, "mqttsn-gw %s starting with %s", mqttsn::app::kVersion, loaded.config.source.c_str());
  mqttsn::app::Daemon daemon(std::move(loaded.config), std::move(*side.parts));
  return daemon.run();
}
