// Per-node upstream mode: the core's requests for a node's own connection go to PerNodeUpstream, its
// answers back to the core. The nodes' identities come from the reloaded credentials file, looked up
// when a node connects, so a SIGHUP applies to the next connection.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "conf/node_credentials.hpp"
#include "gateway/app/daemon.hpp"
#include "gateway/app/options_mapping.hpp"
#include "gateway/core/log.hpp"

namespace mqttsn::app {

void Daemon::start_per_node() {
  // Mixed mode: a shared gateway whose admission list marks nodes per_node has a credentials file.
  if (config_.upstream.mode != conf::UpstreamMode::per_node && config_.upstream.credentials_file.empty())
    return;
  bridge::PerNodeOptions o = per_node_options(config_);
  o.identity = [this](std::string_view client_id, std::string& error) -> std::optional<bridge::NodeIdentity> {
    const auto& creds = reloadable_.parts().node_credentials;
    std::optional<conf::NodeCredential> c = creds ? creds->find(client_id) : std::nullopt;
    if (!c) {
      error = "no broker identity for it in " + config_.upstream.credentials_file.string();
      return std::nullopt;
    }
    bridge::NodeIdentity id;
    id.username = c->username;
    id.password = conf::node_password(*c, error);
    if (!error.empty()) return std::nullopt;
    // Read when the node connects, like its password file: a certificate renewed on disk is used by
    // the next connection, and a missing one is named here rather than as a TLS failure.
    for (const auto* file : {&c->cert_file, &c->key_file}) {
      if (file->empty()) continue;
      if (::access(file->c_str(), R_OK) != 0) {
        error = "cannot read " + file->string() + ": " + std::strerror(errno);
        return std::nullopt;
      }
    }
    id.cert_file = c->cert_file.string();
    id.key_file = c->key_file.string();
    return id;
  };
  // The connections the gateway makes by itself wait behind the nodes' CONNECTs, at the same rate.
  o.may_open = [this](bool new_connection) {
    return node_gate_->take_background(per_node_->connections(), new_connection, now());
  };
  per_node_ = std::make_unique<bridge::PerNodeUpstream>(&loop_, std::move(o), *this);
  node_gate_ = std::make_unique<bridge::NodeConnectGate>(bridge::NodeConnectGate::Options{
      config_.upstream.max_node_connections, static_cast<double>(config_.upstream.node_connect_rate)});
  // A node's publishes go on its own connection in per-node mode. In mixed mode they go where its
  // session is (a kept session stays on the connection it began on, whatever the list says now);
  // rows of a node without a session (from before a restart) go where the admission list marks it.
  router_->route_own(*per_node_, [this](std::string_view client_id) {
    if (config_.upstream.mode == conf::UpstreamMode::per_node) return true;
    if (const auto own = core_ ? core_->on_own_connection(client_id) : std::nullopt) return *own;
    return reloadable_.policy().upstream_per_node(client_id);
  });
  uv_timer_init(&loop_, &node_gate_timer_);
  node_gate_timer_.data = this;
}

std::optional<Daemon::NodeConnectionCounts> Daemon::node_connection_counts() const {
  if (!per_node_) return std::nullopt;
  return NodeConnectionCounts{per_node_->connections(), node_gate_->waiting(), node_refused_at_limit_,
                              per_node_->outbox_messages()};
}

void Daemon::arm_node_gate() {
  if (!node_refusals_.empty()) {
    uv_timer_start(
        &node_gate_timer_, [](uv_timer_t* t) { static_cast<Daemon*>(t->data)->run_node_gate(); }, 0, 0);
    return;
  }
  const auto due = node_gate_->next_due();
  if (!due) {
    uv_timer_stop(&node_gate_timer_);
    return;
  }
  const auto wait = std::max<Millis::rep>(0, (*due - now()).count());
  uv_timer_start(
      &node_gate_timer_, [](uv_timer_t* t) { static_cast<Daemon*>(t->data)->run_node_gate(); },
      static_cast<std::uint64_t>(wait), 0);
}

void Daemon::run_node_gate() {
  if (!per_node_ || !core_ || shutting_down_) return;
  const std::vector<std::string> refused = std::move(node_refusals_);
  node_refusals_.clear();
  for (const auto& client_id : refused) core_->on_node_connack(client_id, ReturnCode::congestion, now());
  for (const auto& r : node_gate_->take_due(now())) per_node_->connect(r);
  arm_node_gate();
  arm_core_timer();
}

void Daemon::node_connect(const NodeConnect& c) {
  if (!per_node_) return;
  bridge::NodeConnectRequest r;
  r.client_id = std::string(c.client_id);
  r.clean_session = c.clean_session;
  r.keep_alive_s = c.keep_alive_s;
  r.keep_subscriptions = c.will_update;
  if (c.will != nullptr && !c.will->topic.empty())
    r.will = bridge::NodeWill{c.will->topic, c.will->message, c.will->qos, c.will->retain};
  // A node that has a connection keeps it (or has it replaced): no new one to count or pace.
  if (per_node_->has(r.client_id)) return per_node_->connect(r);
  switch (node_gate_->offer(r, per_node_->connections(), now())) {
    case bridge::NodeConnectGate::Verdict::open_now:
      per_node_->connect(r);
      break;
    case bridge::NodeConnectGate::Verdict::queued:
      arm_node_gate();
      break;
    case bridge::NodeConnectGate::Verdict::refused:
      ++node_refused_at_limit_;
      MQTTSN_LOG(notice,
                 "client %s refused (congestion): %zu node connections, [upstream] max_node_connections",
                 r.client_id.c_str(), per_node_->connections());
      node_refusals_.push_back(r.client_id);
      arm_node_gate();
      break;
  }
}

void Daemon::node_subscribe(std::string_view client_id, std::string_view filter, QoS qos) {
  if (per_node_) per_node_->subscribe(client_id, filter, qos);
}

void Daemon::node_unsubscribe(std::string_view client_id, std::string_view filter) {
  if (per_node_) per_node_->unsubscribe(client_id, filter);
}

void Daemon::node_close(std::string_view client_id) {
  if (!per_node_) return;
  node_gate_->cancel(client_id);
  per_node_->close(client_id);
}

void Daemon::on_node_connack(std::string_view client_id, ReturnCode rc) {
  if (!core_) return;
  core_->on_node_connack(client_id, rc, now());
  arm_core_timer();
}

void Daemon::on_node_suback(std::string_view client_id, std::string_view filter, std::optional<QoS> granted) {
  if (!core_) return;
  core_->on_node_suback(client_id, filter, granted, now());
  arm_core_timer();
}

void Daemon::on_node_message(std::string_view client_id, std::string_view topic, Bytes payload, QoS qos,
                             bool retain) {
  if (!core_) return;
  core_->on_node_message(client_id, topic, payload, qos, retain, now());
  arm_core_timer();
}

void Daemon::on_node_publish_result(PublishId id, PublishResult result) {
  durable_->on_publish_result(id, result);  // the stage that handed it down hears it
}

}  // namespace mqttsn::app
