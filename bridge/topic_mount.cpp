#include "bridge/topic_mount.hpp"

namespace mqttsn::bridge {

std::string TopicMount::upstream(std::string_view topic) const {
  std::string out;
  out.reserve(prefix_.size() + topic.size());
  out.append(prefix_).append(topic);
  return out;
}

std::optional<std::string_view> TopicMount::downstream(std::string_view upstream_topic) const {
  if (!upstream_topic.starts_with(prefix_)) return std::nullopt;
  std::string_view rest = upstream_topic.substr(prefix_.size());
  if (rest.empty() && !prefix_.empty()) return std::nullopt;  // the mount point itself is no topic
  return rest;
}

}  // namespace mqttsn::bridge
