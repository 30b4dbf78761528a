#include "gateway/app/metrics.hpp"

#include <cstdint>
#include <cstdio>
#include <string_view>

#include "gateway/app/daemon.hpp"

namespace mqttsn::app {
namespace {

void line(std::string& out, const char* name, const std::string& labels, std::uint64_t value) {
  out += name;
  if (!labels.empty()) out += "{" + labels + "}";
  out += ' ';
  out += std::to_string(value);
  out += '\n';
}

// Label values come from configuration (link names); escape what the format requires.
std::string label_value(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

std::string prometheus_metrics(const Daemon& d) {
  std::string out;
  out += "# TYPE mqttsn_uptime_seconds gauge\n";
  line(out, "mqttsn_uptime_seconds", "", static_cast<std::uint64_t>(d.uptime_seconds()));
  out += "# TYPE mqttsn_sessions gauge\n";
  line(out, "mqttsn_sessions", "", d.core().session_count());
  out +=
      "# HELP mqttsn_downlink_buffered_bytes Topic and payload octets buffered for clients (all together).\n";
  out += "# TYPE mqttsn_downlink_buffered_bytes gauge\n";
  line(out, "mqttsn_downlink_buffered_bytes", "", d.core().buffered_bytes());

  out += "# TYPE mqttsn_core_events_total counter\n";
  d.core().counters().for_each([&](std::string_view name, std::uint64_t v) {
    line(out, "mqttsn_core_events_total", "event=\"" + std::string(name) + "\"", v);
  });

  out += "# TYPE mqttsn_link_events_total counter\n";
  out += "# TYPE mqttsn_link_up gauge\n";
  for (std::size_t i = 0; i < d.links().size(); ++i) {
    const auto& l = *d.links()[i];
    const std::string link = "link=\"" + label_value(d.link_names()[i]) + "\"";
    line(out, "mqttsn_link_up", link, l.is_up() ? 1 : 0);
    l.stats().for_each([&](std::string_view name, std::uint64_t v) {
      line(out, "mqttsn_link_events_total", link + ",event=\"" + std::string(name) + "\"", v);
    });
  }

  const auto up = d.upstream().status();
  out += "# TYPE mqttsn_upstream_connected gauge\n";
  line(out, "mqttsn_upstream_connected", "", up.state == bridge::UpstreamState::connected ? 1 : 0);
  out += "# TYPE mqttsn_upstream_queue_messages gauge\n";
  line(out, "mqttsn_upstream_queue_messages", "", up.queue_messages);
  out += "# TYPE mqttsn_upstream_queue_bytes gauge\n";
  line(out, "mqttsn_upstream_queue_bytes", "", up.queue_bytes);
  out += "# TYPE mqttsn_upstream_inflight gauge\n";
  line(out, "mqttsn_upstream_inflight", "", up.inflight);
  out += "# TYPE mqttsn_upstream_events_total counter\n";
  up.counters.for_each([&](std::string_view name, std::uint64_t v) {
    line(out, "mqttsn_upstream_events_total", "event=\"" + std::string(name) + "\"", v);
  });
  return out;
}

}  // namespace mqttsn::app
