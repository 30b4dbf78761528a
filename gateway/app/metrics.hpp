#pragma once
// The status counters in the Prometheus text exposition format (version 0.0.4), for node_exporter's
// textfile collector or a small scrape proxy.
#include <string>

namespace mqttsn::app {

class Daemon;

std::string prometheus_metrics(const Daemon& daemon);

}  // namespace mqttsn::app
