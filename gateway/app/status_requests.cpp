#include "gateway/app/status_requests.hpp"

#include <malloc.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "gateway/app/daemon.hpp"
#include "gateway/app/metrics.hpp"
#include "gateway/app/operator_requests.hpp"
#include "gateway/app/version.hpp"
#include "gateway/core/describe.hpp"

namespace mqttsn::app {
namespace {

// ordered_json keeps the fields in the order written here, so tables read naturally.
using json = nlohmann::ordered_json;

json clients(const Daemon& d) {
  const auto now = uv_hrtime() / 1'000'000;
  json rows = json::array();
  for (const auto& c : d.core().clients()) {
    std::string address = c.address.to_string();
    if (c.forwarded) address += "/node:" + hex(c.node_id);
    const auto seen_ms = static_cast<long long>(now) - static_cast<long long>(c.last_seen.count());
    // Seconds until session_expiry removes a kept session whose node is away; null (gwctl "-") otherwise.
    json expires_in = nullptr;
    if (c.expires)
      expires_in =
          std::max(0LL, (static_cast<long long>(c.expires->count()) - static_cast<long long>(now)) / 1000);
    rows.push_back({{"client_id", c.client_id},
                    {"link", d.link_name(c.address.link)},
                    {"address", address},
                    {"state", to_string(c.state)},
                    {"keep_alive", c.keep_alive_s},
                    {"last_seen_s", seen_ms < 0 ? 0 : seen_ms / 1000},
                    {"clean", c.clean_session},
                    {"expires_in_s", expires_in},
                    {"in_flight", c.in_flight},
                    {"buffered", c.buffered},
                    {"buffered_bytes", c.buffered_bytes},
                    // QoS 1/2 messages its buffer bounds refused; buffer_full: refusing now.
                    {"refused", c.buffer_refused},
                    {"buffer_full", c.buffer_full},
                    {"subs", c.subscriptions},
                    {"msgs_up", c.msgs_up},
                    {"msgs_down", c.msgs_down}});
    // Per-node mode: the node's own broker connection and the identity it has there.
    if (const bridge::PerNodeUpstream* per_node = d.per_node()) {
      json& row = rows.back();
      if (auto u = per_node->status_of(c.client_id)) {
        row["upstream"] = bridge::to_string(u->state);
        row["broker_client_id"] = u->mqtt_client_id;
        row["broker_user"] = u->username;
        row["broker_cert"] = u->cert_file.empty() ? json(nullptr) : json(u->cert_file);
        // Its publishes the broker has not taken yet because the connection is down (the store keeps them).
        row["upstream_outbox"] = u->outbox;
      } else {
        row["upstream"] = "none";
        row["broker_client_id"] = nullptr;
        row["broker_user"] = nullptr;
        row["broker_cert"] = nullptr;
        row["upstream_outbox"] = 0;
      }
    }
  }
  return {{"clients", rows}};
}

json topics(const Daemon& d, std::string_view only_client) {
  json rows = json::array();
  for (const auto& t : d.core().topic_mappings()) {
    if (!only_client.empty() && t.client_id != only_client && t.client_id != "*") continue;
    rows.push_back({{"client_id", t.client_id},
                    {"topic_id", t.topic_id},
                    {"kind", to_string(t.kind)},
                    {"topic", t.topic},
                    {"confirmed", t.confirmed}});
  }
  return {{"topics", rows}};
}

json subscriptions(const Daemon& d) {
  json rows = json::array();
  for (const auto& s : d.core().subscriptions()) {
    json subscribers = json::array();
    for (const auto& [id, qos] : s.subscribers) subscribers.push_back(id + ":" + std::to_string(qos));
    rows.push_back({{"filter", s.filter},
                    {"clients", s.clients},
                    {"waiting", s.waiting},
                    {"requested_qos", s.requested},
                    {"granted_qos", s.granted ? json(*s.granted) : json(nullptr)},
                    {"upstream", to_string(s.upstream)},
                    {"subscribers", subscribers}});
  }
  return {{"subscriptions", rows}};
}

// The heap as the allocator sees it: what the gateway holds now, and what the allocator keeps free
// for later (RSS that a burst left behind). Tells apart memory in use from memory merely resident.
// null when the allocator does not say (a sanitizer's allocator answers mallinfo2 with zeros).
json heap_memory() {
  const struct mallinfo2 m = mallinfo2();
  if (m.uordblks + m.hblkhd == 0) return {{"heap_in_use_bytes", nullptr}, {"heap_free_bytes", nullptr}};
  return {{"heap_in_use_bytes", m.uordblks + m.hblkhd}, {"heap_free_bytes", m.fordblks}};
}

json stats(const Daemon& d) {
  json core = json::object();
  d.core().counters().for_each([&](std::string_view name, std::uint64_t v) { core[std::string(name)] = v; });
  json links = json::array();
  for (std::size_t i = 0; i < d.links().size(); ++i) {
    const auto& l = *d.links()[i];
    json counters = json::object();
    l.stats().for_each([&](std::string_view name, std::uint64_t v) { counters[std::string(name)] = v; });
    json link = link_description(d, i);
    link["counters"] = counters;
    links.push_back(std::move(link));
  }
  const auto& ss = d.status_server();
  const json status_socket = {{"connections", ss.connections()},
                              {"accepted", ss.counts().accepted},
                              {"refused", ss.counts().refused},
                              {"slow_disconnected", ss.counts().slow_disconnected},
                              {"oversized_requests", ss.counts().oversized_requests},
                              {"trace_connections", ss.trace_connections()},
                              {"trace_dropped", ss.counts().trace_dropped}};
  json operations = nullptr;  // null: [operations] base_topic is ""
  if (const NodeTopics* nt = d.node_topics()) {
    const auto& c = nt->counts();
    operations = {{"base_topic", nt->base()},
                  {"nodes_known", nt->known_nodes()},
                  {"waiting", nt->waiting()},
                  {"availability_published", c.availability},
                  {"documents_published", c.documents},
                  {"summaries_published", c.summaries},
                  {"nodes_cleared", c.cleared},
                  {"availability_read_back", c.read_back},
                  {"requests_answered", d.requests_answered()},
                  {"requests_ignored", d.requests_ignored()}};
  }
  const auto up = d.upstream().status();
  json upc = json::object();
  up.counters.for_each([&](std::string_view name, std::uint64_t v) { upc[std::string(name)] = v; });
  json node_connections = nullptr;  // null: no node has its own connection
  if (const auto nc = d.node_connection_counts())
    node_connections = {
        {"open", nc->open},
        {"waiting", nc->waiting},
        {"refused_at_limit", nc->refused_at_limit},
        // Publishes waiting for a node's connection, delivery connections for absent nodes included.
        {"outbox_messages", nc->outbox_messages}};
  return {{"uptime_s", static_cast<std::uint64_t>(d.uptime_seconds())},
          {"version", kVersion},
          {"sessions", d.core().session_count()},
          {"memory", heap_memory()},
          {"interned_topics", d.core().interned_topics()},
          {"downlink_buffered_bytes", d.core().buffered_bytes()},
          {"upstream",
           {{"state", bridge::to_string(up.state)},
            {"server", up.server},
            {"last_error", up.last_error},
            {"queue_messages", up.queue_messages},
            {"queue_bytes", up.queue_bytes},
            {"inflight", up.inflight},
            {"qos0_in_client", up.qos0_in_client},
            {"subscriptions", up.subscriptions},
            {"kept_filters", up.kept_filters},
            {"node_connections", node_connections},
            {"counters", upc}}},
          {"core", core},
          {"links", links},
          {"operations", operations},
          {"status_socket", status_socket}};
}

json error(std::string text) {
  return {{"error", std::move(text)}};
}

}  // namespace

json link_description(const Daemon& d, std::size_t index) {
  const auto& l = *d.links()[index];
  json link = {{"name", d.link_names()[index]},
               {"kind", std::string(l.name())},
               {"up", l.is_up()},
               {"max_payload", l.max_payload()}};
  if (const auto facts = l.facts(); !facts.empty()) {
    json radio = json::object();
    for (const auto& [name, value] : facts) radio[name] = value;
    link["radio"] = radio;
  }
  return link;
}

json store(const Daemon& d) {
  const DurableStageStatus s = d.store_status();
  std::size_t kept = 0, buffered = 0;
  for (const auto& c : d.core().clients()) {
    if (c.kept) {
      ++kept;
      buffered += c.buffered + c.in_flight;
    }
  }
  json out = {{"state", s.state}, {"path", s.path}};
  if (!s.problem.empty()) out["problem"] = s.problem;
  out["sessions_kept"] = s.stats.sessions;
  out["clients_kept_now"] = kept;
  out["flush_interval_ms"] = s.flush_interval.count();
  // Write-behind: messages waiting for the broker, in memory or as rows.
  out["uplink_waiting"] = s.held;
  out["uplink_waiting_unwritten"] = s.held_unwritten;
  out["uplink_acked_unwritten"] = s.acked_unwritten;
  out["uplink_written"] = s.written;
  out["uplink_queued"] = s.stats.uplink_messages;
  out["uplink_queued_bytes"] = s.stats.uplink_bytes;
  out["downlink_queued"] = buffered;
  // Messages from the broker for kept sessions that had to be written before the broker was told
  // (a node asleep, away, or slow to acknowledge): waiting in the inbox, and taken since start.
  out["downlink_inbox"] = s.inbox;
  out["downlink_inbox_taken"] = s.inbox_taken;
  out["file_bytes"] = s.stats.file_bytes;
  out["commits"] = s.stats.commits;
  // What the SD card sees, from the VFS every store file goes through (process-wide, since start).
  out["bytes_written"] = s.stats.bytes_written;
  out["syncs"] = s.stats.syncs;
  out["flushes"] = s.flushes;
  out["forced_flushes"] = s.forced_flushes;
  out["rows_written"] = s.stats.rows_written;
  out["snapshots_written"] = s.snapshots_written;
  out["snapshots_unchanged"] = s.snapshots_unchanged;
  // Buffered downlink of kept sessions: one row per message, inserted once, deleted once delivered.
  out["session_messages"] = s.stats.session_messages;
  out["session_message_bytes"] = s.stats.session_message_bytes;
  out["session_messages_written"] = s.session_messages_written;
  out["session_messages_erased"] = s.session_messages_erased;
  out["congested"] = s.congested;
  out["errors"] = s.stats.errors;
  out["commit_failures"] = s.commit_failures;
  // The upstream client's QoS 2 exchanges under way (Paho persistence, their own file).
  out["upstream_records_state"] = s.upstream_records_state;
  out["upstream_records_path"] = s.upstream_records_path;
  out["upstream_records"] = s.upstream_records;
  out["upstream_records_bytes"] = s.upstream_records_bytes;
  out["delivered_by_paho"] = s.delivered_by_paho;
  out["abandoned_by_paho"] = s.abandoned_by_paho;
  return {{"store", out}};
}

std::string answer_status(Daemon& d, std::string_view request) {
  while (!request.empty() && request.back() == ' ') request.remove_suffix(1);
  const auto space = request.find(' ');
  const auto verb = request.substr(0, space);
  const auto arg = space == std::string_view::npos ? std::string_view{} : request.substr(space + 1);
  json reply;
  if (verb == "clients")
    reply = clients(d);
  else if (verb == "topics")
    reply = topics(d, arg);
  else if (verb == "subscriptions")
    reply = subscriptions(d);
  else if (verb == "stats")
    reply = stats(d);
  else if (verb == "metrics")
    reply = {{"metrics", prometheus_metrics(d)}};
  else if (verb == "store")
    reply = store(d);
  else if (verb == "version")
    reply = {{"version", kVersion}};
  else if (verb == "node" || verb == "kick" || verb == "clear-buffer") {
    // The operator's actions, as the broker-side requests take them (operator_requests.hpp).
    if (arg.empty()) return error(std::string(verb) + " needs a client id").dump();
    reply = run_operator_request(d, verb == "clear-buffer" ? "clear_buffer" : verb, {{"client_id", arg}});
    if (!reply.value("ok", false)) reply = error(reply.value("error", std::string("failed")));
  } else
    reply = error("unknown request '" + std::string(verb) +
                  "'; requests: clients, topics [CLIENT_ID], subscriptions, stats, metrics, store, version, "
                  "node CLIENT_ID, kick CLIENT_ID, clear-buffer CLIENT_ID, trace [FILTER]");
  // Client ids and topics come from radios: never let a stray byte break the JSON.
  return reply.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace mqttsn::app
