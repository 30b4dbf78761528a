#pragma once
// The durable stage of the uplink pipeline: between the core and the upstream connection, it keeps
// the promise "nothing a node was told is delivered exists only in memory" while writing as little as
// it can to an SD card.
//
// QoS 1, write-behind: a message goes upstream at once and waits in memory. The node is acknowledged
// at the first of (a) the broker's PUBACK, or (b) the commit of the message's row. A flush, run every
// [store] flush_interval while anything waits, writes the rows of messages the broker has not taken
// within that interval, in one transaction. While the upstream is not connected, what waits is
// written at once, whatever its age, but with at least flush_interval / 4 between two commits (a
// group commit: one sync and a few pages for all the readings of that time, instead of per reading);
// a disconnect flushes at once, and so do passing the bound on what waits unwritten, and shutdown. A message
// the broker acknowledges in time is never written; the rows of those acknowledged later are deleted in the
// next flush's transaction, not one commit each. A node's PUBACK therefore waits at most the broker's round
// trip, or flush_interval plus one commit (a new message may wait up to two intervals when it arrives just
// after a flush).
//
// QoS 2, commit before send: a node that resends a QoS 2 PUBLISH (DUP) to a restarted gateway that
// never saw the first copy must not make a second copy at the broker, so its row is committed at the
// end of the loop turn that received it, and only then is it handed upstream and the node's PUBREC
// sent. The MQTT client's own records of QoS 2 exchanges under way go to a second file
// (DurableUpstream, bridge/paho_persistence.hpp) and carry the row, so a restarted client resumes
// them under their packet ids and their rows are not published again.
//
// Sessions (kept sessions, sleeping buffers) ride in the same transactions: the daemon's
// `before_commit` writes the ones that changed. A turn that changed a session commits at its end
// (commit_now()), as a sleeping node's buffer holds messages the broker already counts as delivered;
// readings change no session, so they never cause that commit.
//
// On start the rows left by the previous run are handed upstream again in their order (at least
// once for QoS 1; QoS 2 exchanges the MQTT client resumes are left to it).
#include <uv.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "bridge/upstream.hpp"
#include "conf/config.hpp"
#include "gateway/app/durable_upstream.hpp"
#include "gateway/store/store.hpp"

namespace mqttsn::app {

struct DurableStageStatus {
  std::string state;  // "ok", "disabled", "unavailable"
  std::string path;
  std::string problem;  // why unavailable / what recovery did
  Millis flush_interval{0};
  store::StoreStats stats;
  std::size_t held = 0;               // QoS 1/2 messages waiting for the broker (in memory or rows)
  std::size_t held_unwritten = 0;     // of which not written to the store
  std::uint64_t acked_unwritten = 0;  // acknowledged by the broker before any write: never written
  std::uint64_t written = 0;          // rows written for messages (QoS 1 late or away; QoS 2 all)
  std::uint64_t flushes = 0;          // transactions committed by the stage
  std::uint64_t forced_flushes = 0;   // of which because the broker was away or the bound was hit
  std::uint64_t commit_failures = 0;
  std::uint64_t congested = 0;                 // refused: the bound on what waits for the broker
  std::uint64_t snapshots_written = 0;         // sessions written
  std::uint64_t snapshots_unchanged = 0;       // looked at, same bytes: no write
  std::uint64_t session_messages_written = 0;  // buffered downlink rows inserted (once per message)
  std::uint64_t session_messages_erased = 0;   // and deleted (delivered, dropped, session gone)
  // The upstream client's QoS 2 records (Paho persistence): "ok", "off" (no store, or a clean
  // upstream session), "unavailable".
  std::string upstream_records_state = "off";
  std::string upstream_records_path;
  std::size_t upstream_records = 0;
  std::uint64_t upstream_records_bytes = 0;
  std::uint64_t delivered_by_paho = 0;  // rows dropped because Paho completed their QoS 2 exchange
  std::uint64_t abandoned_by_paho = 0;  // exchanges Paho dropped (broker lost the session): resent
  std::size_t inbox = 0;                // downlink messages for kept sessions not yet noted taken
  std::uint64_t inbox_taken = 0;        // taken into sessions and noted in the store
};

class DurableStage final : public bridge::Upstream, public bridge::UpstreamEvents {
 public:
  // Opens the store when enabled. A store that cannot be opened at all leaves the stage
  // "unavailable": the gateway runs on without persistence (and says so), it does not refuse to serve.
  // `above` hears the results and the upstream's events.
  DurableStage(const conf::GatewayConfig& config, uv_loop_t* loop, bridge::UpstreamEvents& above);
  ~DurableStage() override;
  DurableStage(const DurableStage&) = delete;
  DurableStage& operator=(const DurableStage&) = delete;

  bool active() const { return store_ != nullptr; }
  // For BridgeOptions::durable_records: nullptr without a store or with a clean upstream session.
  bridge::DurableRecords* durable_records() { return records_.get(); }
  // The stage below (the upstream connection); must outlive this stage's use of it.
  void connect_below(bridge::Upstream& below) { below_ = &below; }
  // Called inside every transaction before it commits: the place to write what else changed; and
  // when a commit failed (what it held is gone).
  void set_before_commit(std::function<void(store::Store&)> f) { before_commit_ = std::move(f); }
  void set_commit_failed(std::function<void()> f) { commit_failed_ = std::move(f); }
  // A change outside the stage (a session) wants writing: within flush_interval, or now.
  void flush_soon();
  void commit_now();
  store::Store* store() { return store_.get(); }

  // At start, before the first datagram: hands the rows left by the previous run upstream, except
  // those whose QoS 2 exchange the MQTT client resumes itself.
  struct Restored {
    std::size_t messages = 0;  // handed upstream again
    std::size_t resumed = 0;   // QoS 2 exchanges the MQTT client resumes
  };
  Restored restore();
  // At start, once the core can take messages and the connection has been started (which moves the
  // MQTT client's received QoS 2 records into the inbox): what the inbox holds beyond what the store notes as
  // taken (messages the broker was told arrived, whose sessions a crash kept from being stored) goes
  // up again, in arrival order. Returns how many.
  std::size_t take_inbox_left();
  // At exit: writes what waits and commits. No result goes up any more.
  void close();

  // Upstream (from the core, through the daemon).
  bool start() override { return below_->start(); }
  void publish(const bridge::PublishRequest& request) override;
  void subscribe(std::string_view filter, QoS qos) override { below_->subscribe(filter, qos); }
  void unsubscribe(std::string_view filter) override { below_->unsubscribe(filter); }
  void set_kept_filters(const std::vector<std::string>& filters) override {
    below_->set_kept_filters(filters);
  }
  void shutdown(Millis grace, std::function<void()> done) override;
  bool connected() const override { return below_->connected(); }
  bridge::UpstreamStatus status() const override { return below_->status(); }

  // UpstreamEvents (from the upstream connection).
  void on_publish_result(PublishId id, PublishResult result) override;
  DownlinkReceipt on_message(std::string_view topic, Bytes payload, QoS qos, bool retain,
                             bridge::InboxId inbox) override;
  void on_inbox_written(bridge::InboxId inbox) override;
  void on_suback(std::string_view filter, std::optional<QoS> granted) override {
    above_.on_suback(filter, granted);
  }
  void on_state(bridge::UpstreamState state) override;

  DurableStageStatus stage_status() const;

 private:
  struct Held {
    PublishId above = 0;  // the requester's id; 0: a row from an earlier run, nobody waits
    std::int64_t row = 0;
    Millis since{0};
    bool answered = false;               // the requester was told (kept or delivered)
    bool on_connection_promise = false;  // the store failed: the connection's `kept` is the answer
    QoS qos = 1;
    bool retain = false;
    // Kept until the row is written (the bridge has its own copy to send).
    std::string client_id;
    std::string topic;
    std::vector<std::uint8_t> payload;
    std::size_t bytes() const { return topic.size() + payload.size(); }
  };

  Millis now() const;
  Millis away_gap() const { return flush_interval_ / 4; }
  void open_upstream_records(const conf::GatewayConfig& config);
  void answer(PublishId above, PublishResult result);  // delivered at the end of this turn
  void end_of_turn();
  void flush(bool force);
  void note_inbox_taken(bridge::InboxId inbox, QoS qos);
  void arm_flush_timer();
  void write_row(PublishId id, Held& h);
  void settle_committed(Held& h);  // its row is committed: the requester hears `kept`, the copy goes
  // kept_here: this stage keeps the message (the connection answers only `delivered`).
  void hand_down(PublishId id, const Held& h, bool kept_here = true);
  void forget(std::unordered_map<PublishId, Held>::iterator it);  // settled: out of memory and indexes
  void send_row(store::UplinkRecord&& m);  // a committed row nobody waits for (earlier run, abandoned)
  void take_paho_reports();
  void resend_abandoned(const std::vector<std::int64_t>& rows);

  uv_loop_t* loop_;
  bridge::UpstreamEvents& above_;
  bridge::Upstream* below_ = nullptr;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<DurableUpstream> records_;
  std::function<void(store::Store&)> before_commit_;
  std::function<void()> commit_failed_;
  Millis flush_interval_;
  std::size_t max_messages_;
  std::size_t max_bytes_;
  std::size_t unwritten_bound_;  // bytes waiting unwritten that force a flush at the end of the turn

  std::unordered_map<PublishId, Held> held_;  // by the id given below
  std::unordered_map<std::int64_t, PublishId> by_row_;
  std::deque<PublishId> unwritten_;          // QoS 1 not written yet, oldest first (stale ids skipped)
  std::vector<PublishId> qos2_uncommitted_;  // QoS 2 rows in the open transaction, not handed down
  std::vector<PublishId> written_;           // rows in the open transaction (flush), capacity reused
  std::vector<std::pair<PublishId, PublishResult>> answers_, answering_;
  std::size_t held_bytes_ = 0;
  std::size_t unwritten_bytes_ = 0;
  PublishId next_id_ = 1;
  bool flush_now_ = false;  // at the end of this turn (bound passed, broker gone)
  Millis last_commit_{0};
  bool shutting_down_ = false;
  bool closed_ = false;

  std::vector<std::int64_t> delivered_, abandoned_, dropping_;  // Paho's reports, capacity reused

  // The inbox (store/upstream_records.hpp): the newest id handed above, and whether the store has
  // yet to note it. Noted in the transaction at the end of the turn that took it, which also stores
  // the sessions it changed; then its rows are dropped from the upstream file.
  bridge::InboxId inbox_newest_ = 0;
  bridge::InboxId inbox_replayed_through_ = 0;  // by take_inbox_left()
  bool inbox_unnoted_ = false;
  bool inbox_noted_now_ = false;  // a QoS 2 message among them: noted at the end of the turn
  std::uint64_t inbox_taken_count_ = 0;

  uv_timer_t* flush_timer_ = nullptr;
  uv_prepare_t* turn_end_ = nullptr;
  DurableStageStatus status_;
};

}  // namespace mqttsn::app
