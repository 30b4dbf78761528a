#include "gateway/app/node_topics.hpp"

#include <algorithm>
#include <map>

#include "gateway/core/log.hpp"

namespace mqttsn::app {

namespace {

bool departs(Presence p) {
  return p == Presence::offline || p == Presence::lost;
}

}  // namespace

NodeTopics::NodeTopics(const conf::OperationsConfig& config, Millis forget_after, const Gateway& core,
                       std::vector<std::string> link_names, Publish publish, Clock clock)
    : config_(config),
      base_(config.base_topic),
      forget_after_(forget_after),
      core_(core),
      link_names_(std::move(link_names)),
      publish_(std::move(publish)),
      clock_(std::move(clock)) {}

std::string NodeTopics::availability_topic(std::string_view client_id) const {
  return base_ + "/nodes/" + std::string(client_id) + "/availability";
}

std::string NodeTopics::document_topic(std::string_view client_id) const {
  return base_ + "/nodes/" + std::string(client_id);
}

NodeTopics::Node& NodeTopics::node(std::string_view client_id) {
  auto it = nodes_.find(std::string(client_id));
  if (it == nodes_.end()) it = nodes_.emplace(std::string(client_id), Node{}).first;
  return it->second;
}

void NodeTopics::on_presence(std::string_view client_id, PresencePlace, Presence p) {
  const Millis now = clock_().mono;
  const std::string id(client_id);
  Node& n = node(id);
  n.presence = p;
  if (!departs(p)) n.departed.reset();
  queue_availability(id, n);
  if (p != Presence::removed) queue_document(id, n, now);
  summary_due_ = true;
  wake();
}

void NodeTopics::queue_availability(const std::string& id, Node& n) {
  if (n.availability_queued) return;
  n.availability_queued = true;
  availability_due_.push(id);
}

void NodeTopics::queue_document(const std::string& id, Node& n, Millis now) {
  if (!config_.node_documents || n.document_queued) return;
  n.document_queued = true;
  const Millis not_before =
      n.document_sent ? std::max(now, *n.document_sent + config_.document_interval) : now;
  documents_due_.emplace(not_before, id);
}

void NodeTopics::on_upstream_state(bool connected) {
  connected_ = connected;
  if (!connected) return;
  const Millis now = clock_().mono;
  if (!first_connect_) first_connect_ = now;
  // The broker may have come back without its retained messages: tell it everything again.
  for (auto& [id, n] : nodes_) {
    queue_availability(id, n);
    if (n.presence != Presence::removed) queue_document(id, n, now);
  }
  summary_due_ = true;
  gateway_hash_ = 0;
  next_sweep_.reset();  // the gateway's description goes out with the first tick
  wake();
}

bool NodeTopics::read_back_open() const {
  return !first_connect_ || clock_().mono < *first_connect_ + kReadBackWindow;
}

bool NodeTopics::on_availability_message(std::string_view topic, std::string_view payload) {
  const std::string prefix = base_ + "/nodes/";
  constexpr std::string_view suffix = "/availability";
  if (!topic.starts_with(prefix) || !topic.ends_with(suffix) || topic.size() <= prefix.size() + suffix.size())
    return false;
  const std::string_view id = topic.substr(prefix.size(), topic.size() - prefix.size() - suffix.size());
  if (id.find('/') != std::string_view::npos) return false;
  // What the gateway knows itself (a session, or what it published since) is newer than any
  // retained message; its own messages come back here too.
  if (payload.empty() || nodes_.contains(std::string(id))) return true;
  ++counts_.read_back;
  const DocumentClock clock = clock_();
  const std::string key(id);
  Node& n = node(key);
  // No session here any more: a node the last run saw that has not come back since this start.
  n.presence = payload == "lost" ? Presence::lost : Presence::offline;
  n.departed = clock.mono;
  n.departed_wall = clock.wall;
  if (payload != to_string(n.presence)) queue_availability(key, n);
  queue_document(key, n, clock.mono);
  summary_due_ = true;
  wake();
  return true;
}

bool NodeTopics::take_token(Millis now) {
  const double rate = config_.publish_rate;
  if (!tokens_at_) {
    tokens_ = rate;
  } else {
    tokens_ = std::min(rate, tokens_ + static_cast<double>((now - *tokens_at_).count()) * rate / 1000.0);
  }
  tokens_at_ = now;
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

bool NodeTopics::publish_availability(const std::string& id) {
  auto it = nodes_.find(id);
  if (it == nodes_.end()) return false;
  Node& n = it->second;
  n.availability_queued = false;
  if (n.presence == Presence::removed) {
    forget(id);
    return true;
  }
  if (n.presence == Presence::none) return false;
  // A clean session ends inside the core's call that told "offline" or "lost": by now it is gone.
  if (departs(n.presence) && !n.departed && !core_.client(id)) {
    const DocumentClock clock = clock_();
    n.departed = clock.mono;
    n.departed_wall = clock.wall;
  }
  publish_(availability_topic(id), to_string(n.presence), true);
  ++counts_.availability;
  return true;
}

void NodeTopics::forget(const std::string& id) {
  // An empty retained message removes the retained one (MQTT 3.1.1, 3.3.1.3).
  publish_(availability_topic(id), "", true);
  if (config_.node_documents) publish_(document_topic(id), "", true);
  ++counts_.cleared;
  nodes_.erase(id);
  summary_due_ = true;
}

void NodeTopics::publish_document(const std::string& id, Node& n, Millis now) {
  const DocumentClock clock = clock_();
  std::string text;
  if (const auto c = core_.client(id)) {
    text = node_document(core_, *c, link_names_, clock)
               .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else if (n.departed) {
    text = departed_node_document(id, to_string(n.presence), n.departed_wall)
               .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    return;  // not there yet, or mid-CONNECT: its presence will queue it again
  }
  publish_(document_topic(id), text, true);
  n.document_sent = now;
  n.document_hash = std::hash<std::string>{}(text);
  ++counts_.documents;
}

void NodeTopics::publish_summary(Millis now) {
  std::map<std::string_view, const char*> sorted;
  for (const auto& [id, n] : nodes_)
    if (n.presence != Presence::none && n.presence != Presence::removed)
      sorted.emplace(id, to_string(n.presence));
  nlohmann::ordered_json nodes = nlohmann::ordered_json::object();
  for (const auto& [id, availability] : sorted) nodes[std::string(id)] = availability;
  const nlohmann::ordered_json summary = {
      {"count", sorted.size()}, {"updated", iso_utc(clock_().wall)}, {"nodes", std::move(nodes)}};
  publish_(base_ + "/nodes", summary.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), true);
  summary_due_ = false;
  summary_sent_ = now;
  ++counts_.summaries;
}

void NodeTopics::sweep(Millis now) {
  next_sweep_ = now + std::min(config_.document_interval, Millis{60000});
  if (describe_gateway_) {
    const std::string text = describe_gateway_();
    if (const std::size_t h = std::hash<std::string>{}(text) | 1; h != gateway_hash_) {
      publish_(base_ + "/gateway", text, true);
      gateway_hash_ = h;
    }
  }
  if (config_.node_documents) {
    const DocumentClock clock = clock_();
    for (const auto& c : core_.clients()) {
      auto it = nodes_.find(c.client_id);
      if (it == nodes_.end() || it->second.document_queued) continue;
      const std::string text = node_document(core_, c, link_names_, clock)
                                   .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      if (std::hash<std::string>{}(text) != it->second.document_hash)
        queue_document(it->first, it->second, now);
    }
  }
  std::vector<std::pair<Millis, Node*>> departed;
  for (auto& [id, n] : nodes_) {
    if (!n.departed || n.presence == Presence::removed) continue;
    if (forget_after_ > Millis{0} && now - *n.departed >= forget_after_) {
      n.presence = Presence::removed;
      queue_availability(id, n);
    } else {
      departed.emplace_back(*n.departed, &n);
    }
  }
  if (departed.size() <= kMaxDeparted) return;
  const auto excess = static_cast<std::ptrdiff_t>(departed.size() - kMaxDeparted);
  std::nth_element(departed.begin(), departed.begin() + excess, departed.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  MQTTSN_LOG(warning,
             "node topics: %zu nodes without a session remembered; the %td longest gone are forgotten",
             departed.size(), excess);
  for (auto it = departed.begin(); it != departed.begin() + excess; ++it)
    it->second->presence = Presence::removed;
  for (auto& [id, n] : nodes_)
    if (n.presence == Presence::removed && !n.availability_queued) queue_availability(id, n);
}

std::optional<Millis> NodeTopics::on_tick() {
  if (!connected_) return std::nullopt;  // everything is told again at the next connect
  const Millis now = clock_().mono;
  if (!next_sweep_ || *next_sweep_ <= now) sweep(now);
  bool starved = false;
  while (!availability_due_.empty()) {
    if (!take_token(now)) {
      starved = true;
      break;
    }
    const std::string id = std::move(availability_due_.front());
    availability_due_.pop();
    publish_availability(id);
  }
  if (!starved && summary_due_ && (!summary_sent_ || now >= *summary_sent_ + config_.summary_interval)) {
    if (take_token(now))
      publish_summary(now);
    else
      starved = true;
  }
  while (!starved && !documents_due_.empty() && documents_due_.top().first <= now) {
    if (!take_token(now)) {
      starved = true;
      break;
    }
    const std::string id = documents_due_.top().second;
    documents_due_.pop();
    auto it = nodes_.find(id);
    if (it == nodes_.end()) continue;
    it->second.document_queued = false;
    publish_document(id, it->second, now);
  }
  if (starved) return now + Millis{std::max<std::int64_t>(1, 1000 / config_.publish_rate)};
  std::optional<Millis> next = next_sweep_;
  auto earliest = [&next](Millis t) {
    if (!next || t < *next) next = t;
  };
  if (summary_due_) earliest(summary_sent_ ? *summary_sent_ + config_.summary_interval : now);
  if (!documents_due_.empty()) earliest(documents_due_.top().first);
  return next;
}

}  // namespace mqttsn::app
