#pragma once
// The MQTT-SN 1.2 gateway engine (aggregating gateway), with no I/O. The app feeds it datagrams,
// upstream events and the time; it answers through Outputs and says when it next needs on_tick().
// One flow per source file: connect.cpp, will.cpp, register.cpp, publish_uplink.cpp,
// publish_downlink.cpp, subscribe.cpp, sleep.cpp, discovery.cpp, forwarder.cpp, keepalive.cpp,
// status.cpp; gateway.cpp has dispatch, sending and what creating or dropping a session involves.
//
// Not re-entrant: Outputs must not call back into the Gateway synchronously. So a publish to the
// broker is a request: Outputs::publish() returns nothing and the upstream tells its outcome on a
// later call, through on_publish_result(); the node's PUBACK/PUBREC waits for it (publish_uplink.cpp).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "counters.hpp"
#include "deadline_scheduler.hpp"
#include "messages.hpp"
#include "options.hpp"
#include "outputs.hpp"
#include "session.hpp"
#include "session_snapshot.hpp"
#include "session_table.hpp"
#include "status.hpp"
#include "subscription_tree.hpp"
#include "topic_table.hpp"

namespace mqttsn {

class Gateway {
 public:
  Gateway(const GatewayOptions& options, Outputs& outputs, const AccessPolicy& policy);
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // Inputs.
  void on_datagram(const LinkAddress& from, Bytes datagram, Millis now);
  DownlinkReceipt on_upstream_message(std::string_view topic, Bytes payload, QoS qos, bool retain,
                                      Millis now);
  // The outcome of Outputs::publish(id, ...) with id != 0 (one per id, any order, on a later call).
  // Ids the core no longer waits for are counted (stale_upstream_ack) and otherwise ignored.
  void on_publish_result(PublishId id, PublishResult result, Millis now);
  // nullopt = refused by the broker (MQTT SUBACK 0x80).
  void on_upstream_suback(std::string_view filter, std::optional<QoS> granted, Millis now);
  void on_upstream_state(bool connected, Millis now);
  // Per-node upstream (node_upstream.cpp): the broker's answer to Outputs::node_connect() (accepted, or
  // the MQTT-SN code the refusal maps to), to node_subscribe(), and a message on a node's own
  // connection, which is for that node alone.
  void on_node_connack(std::string_view client_id, ReturnCode rc, Millis now);
  // After restored sessions, once the upstream can take them: the node connections of sessions whose
  // nodes are awake or asleep are made again (with their wills and subscriptions). Returns how many.
  std::size_t reopen_node_upstreams();
  // Whether the node's session is on its own broker connection; nullopt when it has no session.
  std::optional<bool> on_own_connection(std::string_view client_id) const;
  void on_node_suback(std::string_view client_id, std::string_view filter, std::optional<QoS> granted,
                      Millis now);
  DownlinkReceipt on_node_message(std::string_view client_id, std::string_view topic, Bytes payload, QoS qos,
                                  bool retain, Millis now);
  // The radio could not deliver to `to` (XBee 0x8B failure). Counts toward N_RETRY.
  void on_delivery_failure(const LinkAddress& to, Millis now);
  void on_tick(Millis now);
  // The earliest time on_tick() has something to do; nullopt when nothing is scheduled.
  std::optional<Millis> next_deadline() const;

  // Reload (SIGHUP). The policy must outlive the Gateway (or the next set_access_policy).
  void set_access_policy(const AccessPolicy& policy) { policy_ = &policy; }
  void set_predefined_topics(PredefinedTopics topics);
  // Told of every change of a node's presence (nullptr: nobody). Must outlive the Gateway.
  void set_presence_observer(PresenceObserver* observer) { presence_observer_ = observer; }

  // Operator actions (operator.cpp), for the status socket and the broker-side requests.
  // Disconnects a node as if it had sent DISCONNECT: it is told DISCONNECT, its will is not
  // published, and only a kept session (CleanSession=0) stays. false when no node with that id is
  // connected or asleep.
  bool disconnect_client(std::string_view client_id, Millis now);
  // Drops the messages waiting in a node's downlink buffer (not those in flight); nullopt when no
  // session has that id.
  std::optional<std::size_t> clear_buffer(std::string_view client_id);

  // Status API.
  std::vector<ClientStatus> clients() const;
  std::optional<ClientStatus> client(std::string_view client_id) const;
  // One node's topic mappings (its own and the predefined ids it may use) and subscriptions.
  std::vector<TopicMappingStatus> topic_mappings_of(std::string_view client_id) const;
  std::vector<std::pair<std::string, QoS>> subscriptions_of(std::string_view client_id) const;
  std::vector<TopicMappingStatus> topic_mappings() const;
  std::vector<SubscriptionStatus> subscriptions() const;
  const Counters& counters() const { return counters_; }  // for_each: every counter by name
  std::uint64_t counter(Counter c) const { return counters_.get(c); }
  std::size_t session_count() const { return sessions_.size(); }
  std::size_t interned_topics() const { return topics_.size(); }
  std::size_t buffered_bytes() const { return buffered_bytes_; }  // downlink held for all clients
  bool upstream_connected() const { return upstream_connected_; }
  // The client id of the session at a (non-forwarded) address; empty when none. The packet trace's.
  std::string_view client_id_at(const LinkAddress& address) const;

  // Persistence (persistence.cpp). With change tracking on, the core notes every session that may
  // have changed (or gone) since the last take_changed_sessions(); the app snapshots those and
  // writes only the ones whose bytes differ from what it stored. Kept: CleanSession=0 sessions
  // (not mid-CONNECT) and sleeping ones; snapshot() gives nullopt for anything else.
  //
  // Most changes must be stored before anything else happens (a node told its SUBACK or REGACK, a
  // QoS 2 exchange moving on). Progress of QoS 0/1 downlink (a message queued, sent, acknowledged)
  // need not: such a message is still with the broker, or in the app's inbox until the commit that
  // stores the sessions it reached, so storing it may wait for the next periodic flush; writing it
  // at once would cost a sync per message. changes_urgent() tells which kind is waiting.
  void set_change_tracking(bool on) { track_changes_ = on; }
  std::vector<std::string> take_changed_sessions();
  bool changes_urgent() const { return urgent_change_; }
  std::optional<SessionSnapshot> snapshot(std::string_view client_id) const;
  // Recreates a session from a snapshot (at start, before any datagram). false when it cannot be
  // taken: its client id or address is already in use, or the table is full.
  bool restore(const SessionSnapshot& snap, Millis now);

  // Consistency check for tests: empty when every internal cross-reference holds.
  std::vector<std::string> invariant_violations() const;

 private:
  // --- dispatch (gateway.cpp)
  void dispatch(const PeerRef& peer, const Message& m, Millis now);
  void dispatch_session(Session& s, const Message& m, Millis now);
  void reject_unknown(const PeerRef& peer, const Message& m);

  // --- sending (gateway.cpp)
  void send(const PeerRef& to, const Message& m, std::uint8_t ctrl = 0);
  void send(const Session& s, const Message& m) { send(PeerRef::of(s.peer), m); }
  std::size_t wire_size(const Session& s, const Message& m) const;
  std::size_t downlink_limit(const Session& s) const;  // largest datagram s's link carries

  // --- persistence (persistence.cpp)
  void note_change(Session& s) {
    note_downlink_change(s);
    if (track_changes_) urgent_change_ = true;
  }
  void note_downlink_change(Session& s) {  // QoS 0/1 downlink progress only (see changes_urgent())
    if (track_changes_ && !s.change_noted) {
      s.change_noted = true;
      changed_.push_back(s.client_id);
    }
  }
  bool kept(const Session& s) const;
  void restore_subscription(Session& s, const SessionSnapshot::Subscription& sub);

  ClientStatus status_of(const Session& s) const;  // status.cpp

  // --- presence (presence.cpp): every state change goes through set_state, so none is missed
  void set_state(Session& s, ClientState state);
  void tell_presence(Session& s, Presence p);

  // --- sessions (gateway.cpp): SessionTable's operations plus what they mean for the rest of the core
  Session& create_session(const PeerRef& peer, std::string_view client_id);
  void rebind(Session& s, const PeerRef& peer);
  void destroy_session(Session& s);
  void clear_session_state(Session& s);     // CleanSession: subscriptions, topics, will, queues
  void drop_delivery_state(Session& s);     // client went away: what a kept session does not keep
  void discard_delivery_state(Session& s);  // all queues and uplink records
  void forget_unconfirmed(Session& s);
  bool evict_one_persistent();

  // --- flows
  void handle_connect(const PeerRef& peer, const Connect& c, Millis now);  // connect.cpp
  void handle_will_topic(Session& s, const WillTopic& w, Millis now);
  void handle_will_msg(Session& s, const WillMsg& w, Millis now);
  void accept_connection(Session& s, Millis now);
  void complete_connection(Session& s, Millis now);  // CONNACK accepted and what follows it
  void refuse_connection(Session& s, ReturnCode rc, Millis now);
  // --- per-node upstream (node_upstream.cpp)
  void open_node_upstream(Session& s);
  bool update_node_will(Session& s, WillUpdate what);  // true: the answer waits for the broker
  void answer_will_update(Session& s, ReturnCode rc);
  // Some subscriber or waiter of this filter is on the shared connection.
  static bool uses_shared_subscription(const SubscriptionTree::Node& node);
  void close_node_upstream(Session& s);
  void subscribe_per_node(Session& s, SubscriptionTree::Node& node, std::string_view filter,
                          const SubscribeWaiter& waiter);
  // Delivery of a broker message to the sessions subscribed to it; `only`: to that session alone.
  DownlinkReceipt deliver(std::string_view topic, Bytes payload, QoS qos, bool retain, Millis now,
                          const Session* only);
  void handle_will_topic_upd(Session& s, const WillTopicUpd& w);  // will.cpp
  void handle_will_msg_upd(Session& s, const WillMsgUpd& w);
  void publish_will(Session& s);
  void handle_register(Session& s, const Register& r);  // register.cpp
  void handle_regack(Session& s, const RegAck& r, Millis now);
  bool start_register(Session& s, const TopicRef& topic, Millis now);
  void handle_publish(Session& s, const Publish& p, Millis now);  // publish_uplink.cpp
  void handle_publish_minus1(const PeerRef& peer, const Publish& p);
  void handle_pubrel(Session& s, const PubRel& p);
  void handle_subscribe(Session& s, const Subscribe& m);  // subscribe.cpp
  void handle_unsubscribe(Session& s, const Unsubscribe& m);
  void remove_subscription(Session& s, std::size_t index);
  // Records what the broker granted for a waiting SUBSCRIBE in the session and the tree, and answers
  // the node (shared and per-node subscriptions alike).
  void grant_subscription(Session& s, SubscriptionTree::Node& node, QoS q, const SubscribeWaiter& w);
  void release_filter_if_unused(SubscriptionTree::Node* n);
  void request_upstream(SubscriptionTree::Node& node, std::string_view filter, QoS qos);
  // Buffers a downlink message within the limits (publish_downlink.cpp); seq != 0: its store row's.
  void enqueue(Session& s, const TopicRef& topic, const SharedPayload& payload, QoS qos, bool retain,
               std::uint64_t seq = 0);
  void pump(Session& s, Millis now);
  void end_buffer_full(Session& s);  // the episode of refused messages is over: log it once
  // An outbox exists only while it holds something (the invariant checker counts on it; a kept
  // session's snapshot and the status socket read it).
  static void release_outbox_if_empty(Session& s) {
    if (s.outbox && s.outbox->empty()) s.outbox.reset();
  }
  void resend_in_flight(Session& s, Millis now);
  void handle_puback(Session& s, const PubAck& a, Millis now);
  void handle_pubrec(Session& s, const PubRec& r, Millis now);
  void handle_pubcomp(Session& s, const PubComp& c, Millis now);
  void drop_queued_topic(Session& s, const TopicRef& topic, Counter reason);
  void handle_disconnect(Session& s, const Disconnect& d, Millis now);  // sleep.cpp
  void handle_pingreq(const PeerRef& peer, Session* s, const PingReq& p, Millis now);
  void finish_wake_if_done(Session& s, Millis now);
  void handle_searchgw(const PeerRef& peer, const SearchGw& m);  // discovery.cpp
  void send_advertise(Millis now);
  bool discoverable() const;
  void handle_encapsulated(const LinkAddress& from, const Encapsulated& e, Millis now);  // forwarder.cpp
  void service_session(Session& s, Millis now);                                          // keepalive.cpp
  std::optional<Millis> session_deadline(const Session& s) const;
  void reschedule(Session& s);
  void lose_session(Session& s, Counter reason, Millis now);
  void expire_session(Session& s, Millis now);
  static DeadlineScheduler::Owner deadline_owner(const Session& s) { return {s.slot, s.serial}; }

  // Topic resolution (gateway.cpp): the topic a client means by (type, id); empty when unknown.
  std::string_view resolve_topic(const Session* s, TopicIdType type, std::uint16_t id,
                                 char (&short_buf)[2]) const;
  std::optional<std::uint16_t> predefined_id(const Session& s, std::string_view topic) const;
  const std::string* predefined_topic(std::string_view client_id, std::uint16_t id) const;
  Millis scaled(std::uint16_t seconds) const;

  bool track_changes_ = false;
  std::vector<std::string> changed_;  // client ids, see take_changed_sessions()
  bool urgent_change_ = false;        // one of changed_ changed by more than QoS 0/1 downlink

  GatewayOptions options_;
  Outputs& out_;
  const AccessPolicy* policy_;

  TopicTable topics_;  // first: every TopicRef below refers into it
  Counters counters_;
  // held_bytes() of every session's downlink buffers together (Outbox keeps it): declared before
  // sessions_, whose outboxes give their share back when they are destroyed.
  std::size_t buffered_bytes_ = 0;
  std::uint64_t next_downlink_seq_ = 1;  // OutboundPublish::seq
  SessionTable sessions_;
  SubscriptionTree tree_;

  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  struct PredefinedTable {
    std::unordered_map<std::uint16_t, std::string> global;
    std::unordered_map<std::string, std::unordered_map<std::uint16_t, std::string>, StringHash,
                       std::equal_to<>>
        per_client;
  } predefined_;

  // Node QoS 1/2 publishes awaiting their result, by id: whose (slot + serial: a reused slot is not
  // the same session) and which of its inbound records.
  struct PendingUplink {
    std::uint32_t slot = 0;
    std::uint32_t serial = 0;
    std::uint16_t msg_id = 0;
  };
  std::unordered_map<PublishId, PendingUplink> pending_uplinks_;

  DeadlineScheduler deadlines_;  // one per session: the earliest of session_deadline()

  PresenceObserver* presence_observer_ = nullptr;
  bool upstream_connected_ = false;
  std::optional<Millis> advertise_due_;

  // Scratch buffers reused for every datagram sent (no allocation per message).
  std::vector<std::uint8_t> tx_;
  std::vector<std::uint8_t> tx_inner_;
  std::vector<std::pair<std::uint32_t, QoS>> match_scratch_;
  std::vector<const void*> blocked_scratch_;
};

}  // namespace mqttsn
