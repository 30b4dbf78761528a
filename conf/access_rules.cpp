#include "conf/access_rules.hpp"

#include <utility>

namespace mqttsn::conf {

AccessRules::AccessRules(bool allow_anonymous, std::optional<AdmissionList> admission, std::optional<Acl> acl)
    : allow_anonymous_(allow_anonymous), admission_(std::move(admission)), acl_(std::move(acl)) {}

bool AccessRules::may_connect(std::string_view client_id, const ConnectOrigin& from) const {
  return may_connect(client_id, from, {});
}

bool AccessRules::may_connect(std::string_view client_id, const ConnectOrigin& from,
                              std::string_view identity) const {
  if (!admission_) return allow_anonymous_;
  switch (admission_->check(client_id, from, identity)) {
    case AdmissionList::Verdict::admitted:
      return true;
    case AdmissionList::Verdict::wrong_address:
      return false;
    case AdmissionList::Verdict::not_listed:
      return allow_anonymous_;
  }
  return false;
}

bool AccessRules::may_publish(std::string_view client_id, std::string_view topic) const {
  if (client_id.empty() && !allow_anonymous_) return false;
  return !acl_ || acl_->may_publish(client_id, topic);
}

bool AccessRules::may_subscribe(std::string_view client_id, std::string_view filter) const {
  return !acl_ || acl_->may_subscribe(client_id, filter);
}

SwitchableAccessPolicy::SwitchableAccessPolicy(std::shared_ptr<const AccessPolicy> initial)
    : current_(initial ? std::move(initial) : std::make_shared<AllowAll>()) {}

void SwitchableAccessPolicy::replace(std::shared_ptr<const AccessPolicy> next) {
  if (next) current_ = std::move(next);
}

bool SwitchableAccessPolicy::may_connect(std::string_view client_id, const ConnectOrigin& from) const {
  if (identity_of_)
    if (const auto* rules = dynamic_cast<const AccessRules*>(current_.get()))
      return rules->may_connect(client_id, from, identity_of_(from.address));
  return current_->may_connect(client_id, from);
}
bool SwitchableAccessPolicy::may_publish(std::string_view client_id, std::string_view topic) const {
  return current_->may_publish(client_id, topic);
}
bool SwitchableAccessPolicy::may_subscribe(std::string_view client_id, std::string_view filter) const {
  return current_->may_subscribe(client_id, filter);
}

}  // namespace mqttsn::conf
