#pragma once
// The daemon's use of the SQLite store: "nothing a node was told is delivered may be lost".
//
// Uplink: a node's QoS 1/2 PUBLISH is written to the store; the core hears "pending". Every write
// of one loop turn shares one transaction (end_of_turn(), from a uv_prepare handle): a burst of
// readings costs one WAL sync. After that commit, and only then, the turn's messages are handed to
// the bridge (tagged with their row) and acknowledged to the core (on_upstream_ack), so the node's
// PUBACK/PUBREC follows the disk, and nothing reaches the broker that a crash could make the node
// send again as a new message. The row goes when the broker acknowledges the message.
// On start the rows left are handed to the bridge again, in their original order.
//
// Upstream in-flight state (the store issue asks us to choose): Paho's user persistence
// (bridge/paho_persistence.hpp) over a second SQLite file (store/upstream_records.hpp: why not a
// table of this one). QoS 2 exchanges under way with the broker are kept there with their row, so
// after a crash Paho finishes them under their old packet ids and the broker's kept session
// delivers each exactly once; those rows are not republished, and they go when Paho notes them
// delivered. QoS 1 stays in memory on Paho's side: its row is republished after a crash, "at least
// once" being QoS 1's promise, and one FULL sync per message on Paho's threads being the cost
// QoS 2 pays for exactly once. Paho's file persistence was the other choice: it never syncs (a power
// cut could lose a record after the packet left) and knows nothing of our rows.
// Paho applies persistence to the whole connection, so QoS 1 pays too (README, Performance):
// [store] qos2_exactly_once = false runs Paho without it, and QoS 2 is then at least once.
//
// Sessions: the core notes which sessions may have changed; their snapshots are written only when
// their bytes differ from what the store holds (a digest per client), so keep-alive pings and
// QoS 0 readings never write.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "bridge/bridge.hpp"
#include "conf/config.hpp"
#include "gateway/app/durable_upstream.hpp"
#include "gateway/core/gateway.hpp"
#include "gateway/store/store.hpp"

namespace mqttsn::app {

struct StoreKeeperStatus {
  std::string state;  // "ok", "disabled", "unavailable"
  std::string path;
  std::string problem;  // why unavailable / what recovery did
  store::StoreStats stats;
  std::uint64_t snapshots_written = 0;
  std::uint64_t snapshots_unchanged = 0;  // looked at, same bytes: no write
  std::uint64_t commit_failures = 0;
  std::uint64_t congested = 0;  // refused because the uplink table was full
  // The upstream client's QoS 2 records (Paho persistence): "ok", "off" (no store, or a clean
  // upstream session), "unavailable".
  std::string upstream_records_state = "off";
  std::string upstream_records_path;
  std::size_t upstream_records = 0;
  std::uint64_t upstream_records_bytes = 0;
  std::uint64_t delivered_by_paho = 0;  // rows dropped because Paho completed their QoS 2 exchange
  std::uint64_t abandoned_by_paho = 0;  // exchanges Paho dropped (broker lost the session): resent
};

class StoreKeeper {
 public:
  // Opens the store when enabled. A store that cannot be opened at all leaves the keeper
  // "unavailable": the gateway runs on without persistence (and says so), it does not refuse to serve.
  StoreKeeper(const conf::GatewayConfig& config, uv_loop_t* loop);
  bool active() const { return store_ != nullptr; }
  // For BridgeOptions::durable_records: nullptr without a store or with a clean upstream session.
  bridge::DurableRecords* durable_records() { return upstream_.get(); }
  void close();  // closes the loop handle; call before the loop's last run

  // At start, before the first datagram: restores the kept sessions into the core and hands the
  // kept uplink messages to the bridge, except those whose QoS 2 exchange Paho resumes itself.
  void restore(Gateway& core, bridge::Bridge& bridge, Millis now);

  // Daemon::publish for QoS >= 1 while active: the row joins this turn's transaction. (Should the
  // store fail to write it, the message goes to the bridge at once, on the bridge's own promise.)
  PublishOutcome publish(bridge::Bridge& bridge, std::string_view topic, Bytes payload, QoS qos, bool retain);
  // The bridge's result for `token`: true when it was one of ours (the core must not see it).
  bool on_publish_result(UpstreamToken token, bool ok);
  // Once per loop turn: drop the rows Paho noted delivered, write changed sessions, commit, then
  // hand the committed messages to the bridge and acknowledge them to the core. Returns true when
  // the core was called (its timer needs re-arming).
  bool end_of_turn(Gateway& core, bridge::Bridge& bridge, Millis now);

  // At exit: writes what changed and commits, without calling the core back.
  void flush(Gateway& core);

  StoreKeeperStatus status() const;

 private:
  struct Awaiting {  // a message in the open transaction
    UpstreamToken core_token;
    std::int64_t row;
    std::string topic;
    std::vector<std::uint8_t> payload;
    QoS qos;
    bool retain;
  };

  void save_changed_sessions(Gateway& core);
  void open_upstream_records(const conf::GatewayConfig& config, uv_loop_t* loop);
  void drop_delivered(const std::vector<std::int64_t>& rows);  // Paho completed them: out of the store
  // Rows whose exchange Paho gave up: handed to the bridge again unless it still holds them.
  void resend_abandoned(bridge::Bridge& bridge, const std::vector<std::int64_t>& rows);
  bool hand_over(bridge::Bridge& bridge, std::int64_t row, std::string_view topic, Bytes payload, QoS qos,
                 bool retain);

  std::unique_ptr<store::Store> store_;
  std::unique_ptr<DurableUpstream> upstream_;
  std::vector<std::int64_t> delivered_;  // rows Paho completed, collected this turn (capacity reused)
  std::vector<std::int64_t> abandoned_;  // rows whose exchange Paho gave up, this turn
  std::vector<std::int64_t> dropping_;   // delivered rows deleted in the open transaction
  StoreKeeperStatus status_;
  std::unordered_map<UpstreamToken, std::int64_t> rows_by_bridge_token_;
  std::vector<Awaiting> awaiting_commit_;  // messages whose rows are in the open transaction
  std::vector<Awaiting> acking_;           // the committed ones, being handed over (capacity reused)
  UpstreamToken next_token_ = UpstreamToken{1} << 62;           // apart from the bridge's own tokens
  std::unordered_map<std::string, std::size_t> stored_digest_;  // per client id: what the store holds
};

}  // namespace mqttsn::app
