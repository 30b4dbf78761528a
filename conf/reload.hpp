#pragma once
// The parts of the configuration that SIGHUP re-reads without dropping a session: the admission
// list, the ACL, the predefined topics, the DTLS links' pre-shared keys, the nodes' broker identities and the
// log level. Everything else (links, upstream, status socket, store, gateway limits) needs a restart;
// reload() lists what changed there so the daemon can say so. A reload with any error returns no parts: the
// daemon keeps its old rules.
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "conf/access_rules.hpp"
#include "conf/config.hpp"
#include "conf/error.hpp"
#include "conf/node_credentials.hpp"
#include "conf/predefined_topics.hpp"
#include "conf/psk_file.hpp"

namespace mqttsn::conf {

struct ReloadableParts {
  std::shared_ptr<const AccessRules> access;
  std::vector<PredefinedTopic> predefined_topics;
  LoggingConfig logging;
  // The pre-shared keys of each enabled DTLS link with a psk_file, by link name.
  std::map<std::string, std::shared_ptr<const PskKeys>> psk_keys;
  // The nodes' broker identities, when [upstream] names a credentials_file.
  std::shared_ptr<const NodeCredentials> node_credentials;
};

struct ReloadResult {
  std::optional<ReloadableParts> parts;  // nullopt when there were errors
  ConfigErrors errors;
  std::vector<std::string> restart_needed;  // sections that changed but are not reloadable
  bool ok() const { return parts.has_value(); }
};

// Reads the side files a loaded configuration names (used at start-up and by reload()).
ReloadResult load_reloadable(const GatewayConfig& config);

// Re-reads the configuration file and its side files. `running` is the configuration the daemon
// started with: changes outside the reloadable parts are reported in restart_needed.
ReloadResult reload(const std::filesystem::path& config_file, const GatewayConfig& running);

// Holds the current reloadable parts; apply() swaps them in only when a reload succeeded.
class ReloadableState {
 public:
  explicit ReloadableState(ReloadableParts initial);
  // True when `result` was applied; false (and nothing changed) when it carried errors.
  bool apply(const ReloadResult& result);
  const ReloadableParts& parts() const { return parts_; }
  // The policy to hand to the core once; it follows every successful apply().
  const SwitchableAccessPolicy& policy() const { return policy_; }
  SwitchableAccessPolicy& policy() { return policy_; }

 private:
  ReloadableParts parts_;
  SwitchableAccessPolicy policy_;
};

}  // namespace mqttsn::conf
