#pragma once
// The last stage of the uplink pipeline in per-node and mixed mode: below the durable stage, a
// node's publishes go on its own broker connection and everything else (the shared nodes', the
// gateway's own) on the shared one, so the store's write-behind covers both alike. Results come
// back to the durable stage from each: the shared connection's as its UpstreamEvents, the nodes'
// through the daemon (NodeUpstreamEvents::on_node_publish_result).
//
// Subscriptions, state and shutdown are the shared connection's: a node's own subscriptions go to
// its connection from the daemon, and the per-node connections are shut down before this stage.
// The durable stage's "broker away" is the shared connection's: a message waiting for a node's
// connection that is down is written at the end of its flush interval, as one the broker is slow
// to take.
#include <functional>
#include <string_view>

#include "bridge/per_node_upstream.hpp"
#include "bridge/upstream.hpp"

namespace mqttsn::app {

class UplinkRouter final : public bridge::Upstream {
 public:
  // True when the node's publishes go on its own connection.
  using OwnConnection = std::function<bool(std::string_view client_id)>;

  explicit UplinkRouter(bridge::Upstream& shared) : shared_(shared) {}
  void route_own(bridge::PerNodeUpstream& per_node, OwnConnection own) {
    per_node_ = &per_node;
    own_ = std::move(own);
  }

  bool start() override { return shared_.start(); }
  void publish(const bridge::PublishRequest& request) override;
  void subscribe(std::string_view filter, QoS qos) override { shared_.subscribe(filter, qos); }
  void unsubscribe(std::string_view filter) override { shared_.unsubscribe(filter); }
  void set_kept_filters(const std::vector<std::string>& filters) override {
    shared_.set_kept_filters(filters);
  }
  void shutdown(Millis grace, std::function<void()> done) override {
    shared_.shutdown(grace, std::move(done));
  }
  bool connected() const override { return shared_.connected(); }
  bridge::UpstreamStatus status() const override { return shared_.status(); }

 private:
  bridge::Upstream& shared_;
  bridge::PerNodeUpstream* per_node_ = nullptr;
  OwnConnection own_;
};

}  // namespace mqttsn::app
