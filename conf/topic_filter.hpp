#pragma once
// A small MQTT 3.1.1 topic matcher for access control (kept separate from the core's subscription
// tree on purpose: conf/ must not depend on how the core indexes subscriptions). Topics starting
// with '$' are not matched by a '+' or '#' in the first level (MQTT 3.1.1 section 4.7.2).
#include <optional>
#include <string>
#include <string_view>

namespace mqttsn::conf {

// Why a topic filter or name is not valid, or nullopt when it is.
std::optional<std::string> topic_filter_problem(std::string_view filter);
std::optional<std::string> topic_name_problem(std::string_view name);

// Does the topic name match the filter?
bool topic_matches(std::string_view filter, std::string_view topic);

// Is every topic that `inner` matches also matched by `outer`? ("a/#" covers "a/+/b"; "a/+" does
// not cover "a/#"). Used to decide whether an ACL entry allows a whole subscription.
bool filter_covers(std::string_view outer, std::string_view inner);

// Is there at least one topic both filters match? Used for deny rules on subscriptions: a
// subscription that could deliver a denied topic is refused.
bool filters_intersect(std::string_view a, std::string_view b);

}  // namespace mqttsn::conf
