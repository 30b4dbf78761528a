#pragma once
// A topic access list in mosquitto's acl_file syntax, with the MQTT-SN client id as the "user":
//
//   # rules before any "user" line apply to every client
//   topic read public/#
//   user sensor1
//   topic write sensors/sensor1/#
//   topic readwrite config/sensor1
//   topic deny sensors/sensor1/secret
//   # patterns apply to every client, wherever they appear; %c (and %u) is the client id, %% a
//   # percent sign (conf/placeholders.hpp; any other '%' in a pattern is an error)
//   pattern write sensors/%c/#
//
// Access is read, write, readwrite (the default when left out) or deny. Publishing needs write;
// subscribing needs read on an entry whose filter covers the whole subscription ("a/#" allows
// subscribing to "a/+/t", "a/+" does not allow "a/#"). A matching deny entry refuses a publish,
// and refuses any subscription that could deliver a denied topic. Everything else is refused.
//
// Differences from mosquitto, on purpose: rules before the first "user" line apply to every client
// (mosquitto applies them only to anonymous ones); an unknown keyword is an error, not ignored;
// pattern rules are skipped (not all access denied) for client ids containing '+', '#' or '/', so
// a client cannot widen its own pattern. QoS -1 publishes carry no client id: for them only the
// rules for every client and patterns without %c/%u apply.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "conf/error.hpp"

namespace mqttsn::conf {

enum class AclAccess : std::uint8_t { read = 1, write = 2, readwrite = 3, deny = 4 };

struct AclRule {
  bool pattern = false;     // "pattern": placeholders are expanded ("topic": taken as written)
  bool per_client = false;  // a pattern with %c / %u: `filter` is expanded for each client id;
                            // other patterns are stored expanded
  AclAccess access = AclAccess::readwrite;
  std::string filter;
  int line = 0;
};

class Acl {
 public:
  struct Result;
  static Result parse(std::string_view text, const std::string& file_name);
  static Result load(const std::filesystem::path& file);

  bool may_publish(std::string_view client_id, std::string_view topic) const;
  bool may_subscribe(std::string_view client_id, std::string_view filter) const;

  std::size_t rule_count() const;

 private:
  enum class Want { write, subscribe };
  bool allowed(std::string_view client_id, std::string_view topic_or_filter, Want want) const;
  template <class Visit>
  void for_each_rule(std::string_view client_id, Visit&& visit) const;

  std::vector<AclRule> everyone_;
  std::unordered_map<std::string, std::vector<AclRule>> per_client_;
  std::vector<AclRule> patterns_;
};

struct Acl::Result {
  std::optional<Acl> acl;  // set when there were no errors
  ConfigErrors errors;
};

}  // namespace mqttsn::conf
