#pragma once
// The gateway's single upstream MQTT 3.1.1 connection (Paho MQTTAsync, SSL-capable library).
//
// The shared implementation of Upstream (bridge/upstream.hpp): every node's messages go through this
// one connection under the gateway's broker identity (the specification's aggregating gateway).
//
// Threads: Paho calls back on its own threads; those callbacks only post to a Mailbox, which wakes
// the libuv loop. Every other member runs on the loop thread, and UpstreamEvents are called there.
//
// Reconnect: done by the bridge, not by Paho's automaticReconnect, so that each failure can be
// classified (auth refused / TLS / unreachable), logged once per state change, and so that the
// upstream subscriptions and the queue are restored in our order after every reconnect.
//
// Results: a QoS 1/2 publish is answered `delivered` after the broker's PUBACK/PUBCOMP. While the
// broker is away it waits in the in-memory queue: a request the stage above keeps itself
// (kept_above) is answered only once delivered; any other is answered `kept` when queued, the queue
// being the only promise there is without a store. `congested`: the queue is full, or the bridge
// gives up on the message for good (shutdown). Answers given at once are posted to the next loop
// turn, never made from inside publish(). Messages in flight
// when the connection fails: with clean_session=false they stay with Paho, which resends them after
// the reconnect under their packet ids (the broker's kept session recognises a QoS 2 resend) and
// completes them then; with a clean session the broker forgot those ids, so they are taken back and
// queued again in their original order (a duplicate is possible, a loss is not).
//
// Across a crash: with BridgeOptions::durable_records, Paho's records of QoS 2 exchanges survive
// the process (PahoPersistence), and a restarted Paho resends them under the same packet ids.
//
// TCP_NODELAY: Paho 1.3.12 does not set it (Socket_new only sets SO_NOSIGPIPE where it exists; an
// strace of the tests shows no setsockopt on Paho's sockets) and its API gives no access to the
// socket. Paho writes each MQTT packet with one writev(), so a packet is never split, but with Nagle
// a small packet can wait for the ACK of the previous one (delayed ACK, up to ~40 ms on Linux).
//
// Limits: the queue is in memory (lost on restart, counted and logged at shutdown): the durable stage
// above keeps its own copy of every QoS 1/2 message it hands over (kept_above).
#include <uv.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "bridge/bridge_options.hpp"
#include "bridge/kept_filters.hpp"
#include "bridge/outbound_queue.hpp"
#include "bridge/paho_callbacks.hpp"
#include "bridge/paho_persistence.hpp"
#include "bridge/receive_hold.hpp"
#include "bridge/topic_mount.hpp"
#include "bridge/upstream.hpp"
#include "bridge/upstream_status.hpp"
#include "gateway/core/outputs.hpp"

namespace mqttsn::bridge {

namespace detail {
class Mailbox;
struct ConnectOk;
struct ConnectFailed;
struct ConnectionLost;
struct MessageArrived;
struct PublishDone;
struct SubscribeDone;
struct DisconnectDone;
struct TlsError;
struct DeferredSuback;
struct InboxWritten;
struct HoldEnded;
struct Qos0Written;
}  // namespace detail

class Bridge final : public Upstream {
 public:
  Bridge(uv_loop_t* loop, BridgeOptions options, UpstreamEvents& events);
  // Closes the libuv handles (the loop must run once more to free them) and destroys the Paho client.
  // Call shutdown() first for a clean disconnect.
  ~Bridge() override;
  Bridge(const Bridge&) = delete;
  Bridge& operator=(const Bridge&) = delete;

  // Creates the Paho client and starts connecting. Invalid options (e.g. an unreadable password
  // file) are logged; the bridge then stays `stopped` and start() returns false.
  bool start() override;
  // Clean shutdown: publishes the retained `offline`, waits up to `grace` for messages in flight,
  // disconnects, closes its handles, then calls `done` (on the loop). Messages not delivered by then
  // are answered `congested` when somebody still waits for them.
  void shutdown(Millis grace, std::function<void()> done) override;

  void publish(const PublishRequest& request) override;
  // Once per distinct filter (the core counts references). The result comes via on_suback: while
  // disconnected, at once with the requested QoS (the subscription is made on connect; a later
  // refusal by the broker is reported as on_suback(filter, nullopt)); while connected, after SUBACK.
  void subscribe(std::string_view filter, QoS qos) override;
  void unsubscribe(std::string_view filter) override;
  void set_kept_filters(const std::vector<std::string>& filters) override;

  bool connected() const override { return connected_; }
  UpstreamStatus status() const override;
  const BridgeOptions& options() const { return options_; }

 private:
  struct Subscription {
    int qos = 0;            // requested upstream QoS (after the ceiling)
    bool reported = false;  // on_suback already called
  };
  enum class Phase { idle, running, draining, closing, closed };

  static void on_mailbox(uv_async_t* handle);
  void drain_mailbox();
  void handle(detail::ConnectOk& e);
  void handle(detail::ConnectFailed& e);
  void handle(detail::ConnectionLost& e);
  void handle(detail::MessageArrived& e);
  void handle(detail::PublishDone& e);
  void handle(detail::SubscribeDone& e);
  void handle(detail::DisconnectDone& e);
  void handle(detail::TlsError& e);
  void handle(detail::DeferredSuback& e);
  void handle(detail::InboxWritten& e);
  void handle(detail::HoldEnded& e);
  void handle(detail::Qos0Written& e);
  // Settles the receive thread's hold once the sessions a held message reached have let it go.
  static void on_hold_check(uv_check_t* handle);

  bool create_client();
  bool recreate_client();  // destroys the Paho client (disconnected) and creates it again
  void connect_now();
  void schedule_reconnect();
  void set_state(UpstreamState s, const std::string& reason);
  void pump();  // hands queued messages to Paho while connected and the window allows
  void pump_soon();
  enum class SendResult { sent, retry_later, failed };
  // `may_defer`: while the receive thread holds a message for the nodes, the send waits for the end
  // of the hold (retry_later) instead of cutting it short.
  SendResult send(OutboundMessage& m, bool may_defer = true);
  void take_back_forgotten();
  // After Paho reported QoS 2 message `m` done: whether the broker ended it with a PUBACK.
  void note_if_qos2_acked(int token, const OutboundMessage& m);
  // QoS 2 exchanges the broker left unanswered for qos2_answer_timeout: sent again at QoS 1.
  void give_up_silent_qos2();
  void note_broker_lacks_qos2(const char* how, const std::string& topic);
  void take_back_inflight();
  // Queues `m` behind everything older; tagged messages are never refused (see publish()).
  bool enqueue(OutboundMessage&& m);
  void send_subscribe(const std::string& filter, int qos);
  void publish_presence(const std::string& payload);
  void maybe_finish_drain();
  void disconnect_now();
  void finish_shutdown();
  void fail_remaining();
  // Answers on the next loop turn (the stage above is not re-entrant).
  void answer_soon(PublishId id, PublishResult result);
  void answer_now();
  // Whether `m` may go now: the send window, and the narrower one for QoS 2 (see BridgeOptions).
  bool window_allows(const OutboundMessage& m) const {
    if (m.qos == 0) return qos0_in_client_ < options_.qos0_window;
    return inflight_.size() < static_cast<std::size_t>(options_.max_inflight) &&
           (m.qos < 2 || inflight_qos2_ < static_cast<std::size_t>(options_.max_inflight_qos2));
  }
  // Queues a QoS 0 message while connected, making room by dropping the oldest QoS 0 waiting.
  void enqueue_qos0(OutboundMessage&& m, PublishId qos0_id);
  // Once the queue and Paho's QoS 0 have run empty after messages had to wait: ends a drop episode
  // (logged), and gives back the memory the burst took.
  void note_if_drained();
  bool reports_result(const OutboundMessage& m) const { return !m.internal && m.id != 0 && !m.answered; }

  uv_loop_t* loop_;
  BridgeOptions options_;
  UpstreamEvents& events_;
  TopicMount mount_;
  std::string client_id_;
  std::string presence_topic_;
  std::optional<std::string> password_;
  std::vector<std::string> servers_;
  std::vector<char*> server_ptrs_;
  // The server of the current connection attempt. One server per MQTTAsync_connect: given the whole
  // list, Paho names the first server in its success callback whichever one it reached.
  std::size_t server_index_ = 0;

  std::unique_ptr<detail::Mailbox> mailbox_;
  KeptFilters kept_filters_;
  std::unique_ptr<detail::ReceiveContext> receive_;
  std::unique_ptr<PahoPersistence> persistence_;  // with durable_records and a kept session
  ReceiveHold hold_;                              // gates every Paho call made on the loop
  uv_check_t* hold_check_ = nullptr;              // runs while a held message waits for its nodes
  DownlinkReceipt held_receipt_;                  // of the message held as held_id_
  ReceiveHold::HoldId held_id_ = 0;
  void* client_ = nullptr;  // MQTTAsync
  uv_timer_t* reconnect_timer_ = nullptr;
  uv_timer_t* grace_timer_ = nullptr;
  // A while after a reconnect of a kept session: looks for publishes the MQTT client forgot. Long
  // enough for the broker to acknowledge what Paho resent (those results then have arrived).
  static constexpr Millis kForgottenCheckDelay{5000};
  uv_timer_t* forgotten_timer_ = nullptr;
  uv_timer_t* qos2_timer_ = nullptr;    // runs give_up_silent_qos2() while connected
  uv_timer_t* pump_timer_ = nullptr;    // retries pump() when Paho pushed back (no completion to wait for)
  uv_timer_t* answer_timer_ = nullptr;  // runs answer_now() on the next turn
  std::vector<std::pair<PublishId, PublishResult>> answers_;  // waiting for answer_now()

  Phase phase_ = Phase::idle;
  UpstreamState state_ = UpstreamState::stopped;
  bool connected_ = false;
  bool connect_in_progress_ = false;
  Millis backoff_;
  std::string server_;
  std::string last_error_;
  std::string tls_error_;  // OpenSSL text seen during the current connection attempt

  OutboundQueue queue_;
  std::map<int, OutboundMessage> inflight_;  // by Paho token (message id)
  std::size_t inflight_qos2_ = 0;            // of which QoS 2
  bool broker_lacks_qos2_ = false;           // it answered QoS 2 with PUBACK, or not at all
  bool paho_holds_acked_qos2_ = false;       // Paho holds QoS 2 exchanges the broker will not complete
  std::size_t qos0_in_client_ = 0;           // QoS 0 handed to Paho and not yet written
  std::uint64_t qos0_dropped_episode_ = 0;   // dropped since the queue was last empty
  std::size_t queue_peak_ = 0;               // most messages queued since it was last empty
  std::uint64_t next_seq_ = 1;

  std::map<std::string, Subscription, std::less<>> subscriptions_;  // by core filter
  std::unordered_map<int, std::string> subscribe_tokens_;           // Paho token -> core filter

  std::function<void()> shutdown_done_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // weak_ptrs in async probes check it
  UpstreamCounters counters_;
};

}  // namespace mqttsn::bridge
