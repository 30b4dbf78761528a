#pragma once
// The daemon's use of the SQLite store: "nothing a node was told is delivered may be lost".
//
// Uplink: a node's QoS 1/2 PUBLISH is written to the store and handed to the bridge; the core hears
// "pending" and gets on_upstream_ack(ok) only after the commit that made the row durable, so the
// node's PUBACK/PUBREC always follows the disk, never precedes it. Every write of one loop turn
// shares one transaction (end_of_turn(), from a uv_prepare handle): a burst of readings costs one
// WAL sync. The row goes when the broker acknowledges the message (its PUBACK/PUBCOMP to Paho).
// On start the rows left are handed to the bridge again, in their original order.
//
// Upstream in-flight state: Paho runs without persistence. The store is the one record of what the
// broker has not acknowledged; after a crash those messages are published again under new MQTT
// packet ids. At QoS 1 that is MQTT's own "at least once"; at QoS 2 the broker cannot match a new
// packet id with the old one, so a message the broker had received but not completed (PUBREC seen,
// PUBCOMP not) at the instant of a crash can arrive twice. Paho's own persistence would not close
// that gap on a power cut either (it writes files without fsync), and a second store beside ours
// would have to agree with it about every message; one store, one truth, a bounded window.
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
};

class StoreKeeper {
 public:
  // Opens the store when enabled. A store that cannot be opened at all leaves the keeper
  // "unavailable": the gateway runs on without persistence (and says so), it does not refuse to serve.
  explicit StoreKeeper(const conf::GatewayConfig& config);
  bool active() const { return store_ != nullptr; }

  // At start, before the first datagram: restores the kept sessions into the core and hands the
  // kept uplink messages to the bridge.
  void restore(Gateway& core, bridge::Bridge& bridge, Millis now);

  // Daemon::publish for QoS >= 1 while active.
  PublishOutcome publish(bridge::Bridge& bridge, std::string_view topic, Bytes payload, QoS qos, bool retain);
  // The bridge's result for `token`: true when it was one of ours (the core must not see it).
  bool on_publish_result(UpstreamToken token, bool ok);
  // Once per loop turn: write changed sessions, commit, then acknowledge the committed messages to
  // the core. Returns true when the core was called (its timer needs re-arming).
  bool end_of_turn(Gateway& core, Millis now);

  // At exit: writes what changed and commits, without calling the core back.
  void flush(Gateway& core);

  StoreKeeperStatus status() const;

 private:
  void save_changed_sessions(Gateway& core);

  std::unique_ptr<store::Store> store_;
  StoreKeeperStatus status_;
  std::unordered_map<UpstreamToken, std::int64_t> rows_by_bridge_token_;
  std::vector<UpstreamToken> awaiting_commit_;  // core tokens whose rows are in the open transaction
  std::vector<UpstreamToken> acking_;           // the committed ones, being acknowledged (capacity reused)
  UpstreamToken next_token_ = UpstreamToken{1} << 62;           // apart from the bridge's own tokens
  std::unordered_map<std::string, std::size_t> stored_digest_;  // per client id: what the store holds
};

}  // namespace mqttsn::app
