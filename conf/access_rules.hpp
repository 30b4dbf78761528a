#pragma once
// The gateway's AccessPolicy built from configuration: the admission list decides who may connect,
// the ACL who may publish and subscribe where. Immutable once built; a reload builds a new one and
// swaps it into a SwitchableAccessPolicy, so the core keeps one stable reference.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "conf/acl.hpp"
#include "conf/admission_list.hpp"
#include "gateway/core/outputs.hpp"

namespace mqttsn::conf {

class AccessRules final : public AccessPolicy {
 public:
  // allow_anonymous: whether client ids missing from the admission list (or every client id when
  // there is no list) may connect. Listed clients are always checked against their pinned
  // addresses. Without an ACL every publish and subscribe is allowed. With allow_anonymous off,
  // QoS -1 publishes (no client id) are refused too.
  AccessRules(bool allow_anonymous, std::optional<AdmissionList> admission, std::optional<Acl> acl);

  bool may_connect(std::string_view client_id, const ConnectOrigin& from) const override;
  // With the node's authenticated identity (a DTLS link's PSK identity or certificate SAN/CN; ""
  // none). Behind a forwarder, the identity is the forwarder's.
  bool may_connect(std::string_view client_id, const ConnectOrigin& from, std::string_view identity) const;
  bool may_publish(std::string_view client_id, std::string_view topic) const override;
  bool may_subscribe(std::string_view client_id, std::string_view filter) const override;
  bool upstream_per_node(std::string_view client_id) const override {
    return admission_ && admission_->per_node(client_id);
  }

  bool has_admission_list() const { return admission_.has_value(); }
  bool has_acl() const { return acl_.has_value(); }

 private:
  bool allow_anonymous_;
  std::optional<AdmissionList> admission_;
  std::optional<Acl> acl_;
};

// Forwards to whichever policy is current. The loop thread swaps it on SIGHUP; sessions keep
// running and the next check uses the new rules. Not thread-safe by design: one loop owns it.
class SwitchableAccessPolicy final : public AccessPolicy {
 public:
  explicit SwitchableAccessPolicy(std::shared_ptr<const AccessPolicy> initial);
  void replace(std::shared_ptr<const AccessPolicy> next);
  const AccessPolicy& current() const { return *current_; }
  // Where may_connect() learns a node's authenticated identity (the daemon asks its DTLS links). The
  // core's interface stays as it is: the identity is looked up by address, at CONNECT.
  using IdentityLookup = std::function<std::string(const LinkAddress&)>;
  void set_identity_lookup(IdentityLookup lookup) { identity_of_ = std::move(lookup); }

  bool may_connect(std::string_view client_id, const ConnectOrigin& from) const override;
  bool may_publish(std::string_view client_id, std::string_view topic) const override;
  bool may_subscribe(std::string_view client_id, std::string_view filter) const override;
  bool upstream_per_node(std::string_view client_id) const override {
    return current_->upstream_per_node(client_id);
  }

 private:
  std::shared_ptr<const AccessPolicy> current_;
  IdentityLookup identity_of_;
};

}  // namespace mqttsn::conf
