#pragma once
// The status counters in the Prometheus text exposition format (version 0.0.4), for node_exporter's
// textfile collector or a small scrape proxy.
#include <cstdint>
#include <string>

#include "bridge/upstream_status.hpp"

namespace mqttsn::app {

class Daemon;

std::string prometheus_metrics(const Daemon& daemon);

template <class F>
void for_each_upstream_counter(const bridge::UpstreamCounters& c, F&& f) {
  f("published_qos0", c.published_qos0);
  f("published_qos1", c.published_qos1);
  f("published_qos2", c.published_qos2);
  f("acked", c.acked);
  f("failed", c.failed);
  f("requeued", c.requeued);
  f("queued_offline", c.queued_offline);
  f("dropped_offline", c.dropped_offline);
  f("congested", c.congested);
  f("received", c.received);
  f("dropped_outside_prefix", c.dropped_outside_prefix);
  f("inbox_written", c.inbox_written);
  f("inbox_failed", c.inbox_failed);
  f("acked_by_nodes", c.acked_by_nodes);
  f("connects", c.connects);
  f("connect_failures", c.connect_failures);
  f("connections_lost", c.connections_lost);
  f("subscribe_refused", c.subscribe_refused);
}

}  // namespace mqttsn::app
