// The Daemon's operator side: the broker-side node topics (NodeTopics) and requests, and the actions
// both the requests and the status socket take.
#include <algorithm>

#include "gateway/app/daemon.hpp"
#include "gateway/app/operator_requests.hpp"
#include "gateway/app/options_mapping.hpp"
#include "gateway/app/status_requests.hpp"
#include "gateway/app/version.hpp"
#include "gateway/core/log.hpp"
#include "gateway/core/subscription_tree.hpp"

namespace mqttsn::app {

void Daemon::start_node_topics() {
  const auto& ops = config_.operations;
  if (ops.base_topic.empty()) return;
  auto publish = [this](const std::string& topic, std::string_view payload, bool retain) {
    bridge::PublishRequest r;
    r.topic = topic;
    r.payload = Bytes(reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size());
    // QoS 0: all of it is published again at every connect, so what a dropped connection loses is
    // told again when it comes back; QoS 1 would add per-message state at both ends for nothing.
    r.qos = 0;
    r.retain = retain;
    durable_->publish(r);
  };
  auto clock = [this] { return DocumentClock{now(), std::chrono::system_clock::now()}; };
  node_topics_ = std::make_unique<NodeTopics>(ops, config_.gateway.session_expiry, *core_, link_names_,
                                              std::move(publish), std::move(clock));
  node_topics_->set_gateway_description([this] {
    nlohmann::ordered_json links = nlohmann::ordered_json::array();
    for (std::size_t i = 0; i < links_.size(); ++i) links.push_back(link_description(*this, i));
    const nlohmann::ordered_json doc = {{"version", kVersion},
                                        {"gateway_id", config_.gateway.id},
                                        {"upstream_client_id", config_.upstream.client_id},
                                        {"links", links}};
    return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  });
  uv_timer_init(&loop_, &node_topics_timer_);
  node_topics_timer_.data = this;
  // Woken when something becomes due (from inside the core's calls too: only a timer is started),
  // so a reading that changes no presence costs the node topics nothing.
  node_topics_->set_wake([this] {
    if (!shutting_down_)
      uv_timer_start(
          &node_topics_timer_, [](uv_timer_t* t) { static_cast<Daemon*>(t->data)->run_node_topics(); }, 0, 0);
  });
}

void Daemon::on_presence(std::string_view client_id, PresencePlace where, Presence p) {
  // A forwarder's link state belongs to the forwarder, which outlives any one node behind it.
  if (!where.forwarded && where.address.link < links_.size())
    links_[where.address.link]->note_session(where.address, p == Presence::online || p == Presence::asleep);
  if (node_topics_) node_topics_->on_presence(client_id, where, p);
}

void Daemon::run_node_topics() {
  if (!node_topics_ || shutting_down_) return;
  if (reading_back_ && !node_topics_->read_back_open()) {
    reading_back_ = false;
    durable_->unsubscribe(node_topics_->availability_filter());
  }
  const auto next = node_topics_->on_tick();
  if (!next) {
    uv_timer_stop(&node_topics_timer_);
    return;
  }
  const auto delay = (*next - now()).count();
  uv_timer_start(
      &node_topics_timer_, [](uv_timer_t* t) { static_cast<Daemon*>(t->data)->run_node_topics(); },
      delay < 0 ? 0 : static_cast<std::uint64_t>(delay), 0);
}

bool Daemon::owns_filter(std::string_view filter) const {
  return node_topics_ && ((reading_back_ && filter == node_topics_->availability_filter()) ||
                          (!request_filter_.empty() && filter == request_filter_));
}

void Daemon::on_operations_message(std::string_view topic, Bytes payload, bool retain) {
  if (!node_topics_ || !topic.starts_with(node_topics_->base())) return;
  const std::string_view text(reinterpret_cast<const char*>(payload.data()), payload.size());
  if (reading_back_ && node_topics_->on_availability_message(topic, text)) return;
  if (request_filter_.empty()) return;
  const std::string prefix = node_topics_->base() + "/request/";
  if (!topic.starts_with(prefix)) return;
  const std::string verb(topic.substr(prefix.size()));
  if (retain) {
    // A retained request would run again at every reconnect of every gateway under this base.
    ++requests_ignored_;
    MQTTSN_LOG(warning, "request %s ignored: it was retained (publish requests without the retain flag)",
               verb.c_str());
    return;
  }
  nlohmann::json body = nlohmann::json::parse(text, nullptr, false);
  if (text.empty()) body = nlohmann::json::object();
  nlohmann::ordered_json answer;
  if (body.is_discarded() || !body.is_object()) {
    ++requests_ignored_;
    answer = {{"ok", false}, {"error", "the request body must be a JSON object"}};
  } else {
    ++requests_answered_;
    answer = run_operator_request(*this, verb, body);
    MQTTSN_LOG(notice, "request %s from the broker: %s", verb.c_str(),
               answer.value("ok", false) ? "done" : answer.value("error", std::string("failed")).c_str());
  }
  if (body.is_object() && body.contains("correlation_id")) {
    // First in the answer, so a consumer matching answers sees it at once.
    nlohmann::ordered_json with_id = {{"correlation_id", body["correlation_id"]}};
    with_id.update(answer);
    answer = std::move(with_id);
  }
  const std::string reply = answer.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  bridge::PublishRequest r;
  const std::string reply_topic = node_topics_->base() + "/response/" + verb;
  r.topic = reply_topic;
  r.payload = Bytes(reinterpret_cast<const std::uint8_t*>(reply.data()), reply.size());
  r.qos = 1;
  durable_->publish(r);
}

bool Daemon::disconnect_client(std::string_view client_id) {
  const bool done = core_->disconnect_client(client_id, now());
  arm_core_timer();
  return done;
}

std::optional<std::size_t> Daemon::clear_buffer(std::string_view client_id) {
  auto dropped = core_->clear_buffer(client_id);
  arm_core_timer();
  return dropped;
}

void Daemon::apply_predefined_topics() {
  std::vector<conf::PredefinedTopic> topics;
  for (const auto& t : reloadable_.parts().predefined_topics) {
    const bool removed =
        std::any_of(predefined_removed_.begin(), predefined_removed_.end(),
                    [&](const auto& r) { return r.first == t.id && r.second == t.client_id; });
    if (!removed) topics.push_back(t);
  }
  topics.insert(topics.end(), predefined_added_.begin(), predefined_added_.end());
  core_->set_predefined_topics(core_predefined_topics(topics));
}

std::optional<std::string> Daemon::add_predefined(std::uint16_t topic_id, std::string topic,
                                                  std::string client_id) {
  if (!valid_topic_name(topic)) return "'" + topic + "' is not a topic name (no wildcards, not empty)";
  auto same = [&](const conf::PredefinedTopic& t) { return t.id == topic_id && t.client_id == client_id; };
  const auto& file = reloadable_.parts().predefined_topics;
  const bool in_file =
      std::any_of(file.begin(), file.end(), same) &&
      std::none_of(predefined_removed_.begin(), predefined_removed_.end(),
                   [&](const auto& r) { return r.first == topic_id && r.second == client_id; });
  if (in_file || std::any_of(predefined_added_.begin(), predefined_added_.end(), same))
    return "predefined topic id " + std::to_string(topic_id) + " is taken (remove it first)";
  conf::PredefinedTopic t;
  t.id = topic_id;
  t.topic = std::move(topic);
  t.client_id = std::move(client_id);
  MQTTSN_LOG(notice, "predefined topic id %u = %s%s%s added by request (until the next reload)", t.id,
             t.topic.c_str(), t.client_id.empty() ? "" : " for ", t.client_id.c_str());
  predefined_added_.push_back(std::move(t));
  apply_predefined_topics();
  return std::nullopt;
}

bool Daemon::remove_predefined(std::uint16_t topic_id, std::string_view client_id) {
  auto same = [&](const conf::PredefinedTopic& t) { return t.id == topic_id && t.client_id == client_id; };
  if (std::erase_if(predefined_added_, same) == 0) {
    const auto& file = reloadable_.parts().predefined_topics;
    const bool already =
        std::any_of(predefined_removed_.begin(), predefined_removed_.end(),
                    [&](const auto& r) { return r.first == topic_id && r.second == client_id; });
    if (already || std::none_of(file.begin(), file.end(), same)) return false;
    predefined_removed_.emplace_back(topic_id, std::string(client_id));
  }
  MQTTSN_LOG(notice, "predefined topic id %u%s%.*s removed by request (until the next reload)", topic_id,
             client_id.empty() ? "" : " for ", static_cast<int>(client_id.size()), client_id.data());
  apply_predefined_topics();
  return true;
}

}  // namespace mqttsn::app
