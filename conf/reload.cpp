#include "conf/reload.hpp"

#include <utility>

#include "conf/config_loader.hpp"

namespace mqttsn::conf {
namespace {

void append(ConfigErrors& into, ConfigErrors&& from) {
  for (auto& e : from) into.push_back(std::move(e));
}

}  // namespace

ReloadResult load_reloadable(const GatewayConfig& config) {
  ReloadResult result;
  std::optional<AdmissionList> admission;
  std::optional<Acl> acl;
  ReloadableParts parts;
  if (!config.access.clients_file.empty()) {
    auto loaded = AdmissionList::load(config.access.clients_file);
    append(result.errors, std::move(loaded.errors));
    admission = std::move(loaded.list);
    if (admission && admission->first_per_node_line() != 0 && config.upstream.credentials_file.empty())
      result.errors.push_back({config.access.clients_file.string(), admission->first_per_node_line(), "",
                               "per_node needs [upstream] credentials_file (the nodes' broker identities)"});
  }
  if (!config.access.acl_file.empty()) {
    auto loaded = Acl::load(config.access.acl_file);
    append(result.errors, std::move(loaded.errors));
    acl = std::move(loaded.acl);
  }
  if (!config.gateway.predefined_topics_file.empty()) {
    auto loaded = load_predefined_topics(config.gateway.predefined_topics_file);
    append(result.errors, std::move(loaded.errors));
    parts.predefined_topics = std::move(loaded.topics);
  }
  for (const auto& link : config.links) {
    const auto* udp = std::get_if<UdpLinkConfig>(&link.settings);
    if (!link.enabled || udp == nullptr || !udp->dtls.enabled || udp->dtls.psk_file.empty()) continue;
    auto loaded = load_psk_file(udp->dtls.psk_file);
    append(result.errors, std::move(loaded.errors));
    if (loaded.keys) parts.psk_keys.emplace(link.name, std::move(loaded.keys));
  }
  if (!config.upstream.credentials_file.empty()) {
    auto loaded = load_node_credentials(config.upstream.credentials_file);
    append(result.errors, std::move(loaded.errors));
    parts.node_credentials = std::move(loaded.credentials);
  }
  if (!result.errors.empty()) return result;
  parts.access =
      std::make_shared<AccessRules>(config.access.allow_anonymous, std::move(admission), std::move(acl));
  parts.logging = config.logging;
  result.parts = std::move(parts);
  return result;
}

ReloadResult reload(const std::filesystem::path& config_file, const GatewayConfig& running) {
  auto loaded = load_config(config_file);
  if (!loaded.ok()) {
    ReloadResult result;
    result.errors = std::move(loaded.errors);
    return result;
  }
  ReloadResult result = load_reloadable(loaded.config);
  const GatewayConfig& fresh = loaded.config;
  // The predefined topics file is reloadable; the rest of [gateway] is not.
  GatewaySection old_gateway = running.gateway, new_gateway = fresh.gateway;
  old_gateway.predefined_topics_file.clear();
  new_gateway.predefined_topics_file.clear();
  if (old_gateway != new_gateway) result.restart_needed.emplace_back("gateway");
  if (running.links != fresh.links) result.restart_needed.emplace_back("link");
  if (running.upstream != fresh.upstream) result.restart_needed.emplace_back("upstream");
  if (running.status != fresh.status) result.restart_needed.emplace_back("status");
  if (running.operations != fresh.operations) result.restart_needed.emplace_back("operations");
  if (running.store != fresh.store) result.restart_needed.emplace_back("store");
  return result;
}

ReloadableState::ReloadableState(ReloadableParts initial)
    : parts_(std::move(initial)), policy_(parts_.access) {}

bool ReloadableState::apply(const ReloadResult& result) {
  if (!result.parts) return false;
  parts_ = *result.parts;
  policy_.replace(parts_.access);
  return true;
}

}  // namespace mqttsn::conf
