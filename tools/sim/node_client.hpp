#pragma once
// One simulated sensor node: a complete MQTT-SN 1.2 client with no I/O. It is driven by calls
// (commands, datagrams in, time in) and answers with datagrams out and events, so every flow can be
// tested byte for byte with scripted gateway replies, and one libuv loop can drive thousands of them.
//
// Like a constrained real client it keeps at most ONE request outstanding (CONNECT, REGISTER,
// QoS 1/2 PUBLISH, SUBSCRIBE, UNSUBSCRIBE, PINGREQ, DISCONNECT): commands queue up and go out in
// order. A request unanswered after T_RETRY is sent again (PUBLISH and SUBSCRIBE with DUP set, same
// MsgId); after N_RETRY retransmissions the gateway counts as lost and the request fails.
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/core/messages.hpp"
#include "gateway/core/outputs.hpp"

namespace mqttsn::sim {

// A datagram a node hands to its transport. `broadcast` is set for SEARCHGW (XBee: RxOptions 0x02).
struct Datagram {
  std::vector<std::uint8_t> bytes;
  bool broadcast = false;
};

struct WillConfig {
  std::string topic;
  std::string message;
  QoS qos = 0;
  bool retain = false;
};

struct NodeConfig {
  std::string client_id;
  std::uint16_t keep_alive_s = 60;  // 0 = no PINGREQ supervision
  bool clean_session = true;
  std::optional<WillConfig> will;
  Millis t_retry{10000};
  int n_retry = 3;  // retransmissions before the request fails
  // Predefined topic ids this node knows (id -> name), so arriving PUBLISHes can be named.
  std::map<std::uint16_t, std::string> predefined;
  // Answer gateway-initiated REGISTER with this code (tests use a refusal to exercise the GW).
  ReturnCode answer_gateway_register = ReturnCode::accepted;
};

// How a PUBLISH / SUBSCRIBE names its topic.
struct TopicRef {
  TopicIdType type = TopicIdType::normal;
  std::string name{};    // normal: the topic name (or filter); short_name: the 2 characters
  std::uint16_t id = 0;  // predefined id

  static TopicRef named(std::string n) { return {TopicIdType::normal, std::move(n), 0}; }
  static TopicRef predefined(std::uint16_t i) { return {TopicIdType::predefined, {}, i}; }
  static TopicRef short_name(std::string two) { return {TopicIdType::short_name, std::move(two), 0}; }
  std::string to_string() const;
};

enum class EventKind : std::uint8_t {
  gateway_found,     // GWINFO answered our SEARCHGW (gw_id)
  advertise,         // ADVERTISE heard (gw_id)
  connected,         // CONNACK accepted
  registered,        // REGACK accepted for our REGISTER (topic, topic_id)
  published,         // QoS 1/2 handshake complete, or QoS 0/-1 sent (topic, msg_id, qos, payload)
  subscribed,        // SUBACK accepted (topic, topic_id, qos = granted)
  unsubscribed,      // UNSUBACK (topic)
  message,           // a PUBLISH from the gateway (topic, payload, qos, retain, dup)
  gateway_register,  // the gateway registered a topic with us (topic, topic_id)
  asleep,            // the gateway confirmed our DISCONNECT(duration)
  awake_done,        // PINGRESP after a wake-up PINGREQ: buffered messages collected, asleep again
  pong,              // PINGRESP to a keep-alive PINGREQ
  disconnected,      // DISCONNECT confirmed (ours) or sent by the gateway (unsolicited = true)
  failure,           // anything that went wrong: bad return code, timeout, protocol violation
};

const char* to_string(EventKind k);

struct Event {
  EventKind kind{};
  std::string topic{};
  std::uint16_t topic_id = 0;
  std::uint16_t msg_id = 0;
  QoS qos = 0;
  bool retain = false;
  bool dup = false;
  bool unsolicited = false;
  std::uint8_t gw_id = 0;
  ReturnCode rc = ReturnCode::accepted;
  MsgType request = MsgType::connect;  // for failures: the request (or message) concerned
  std::vector<std::uint8_t> payload{};
  std::string what{};  // for failures: a human-readable reason
};

struct NodeStats {
  std::uint64_t datagrams_out = 0;
  std::uint64_t datagrams_in = 0;
  std::uint64_t retransmissions = 0;
  std::uint64_t decode_errors = 0;
  std::uint64_t stray_replies = 0;  // acks matching no outstanding request (late duplicates)
};

class NodeClient {
 public:
  enum class State : std::uint8_t {
    disconnected,    // never connected, or DISCONNECT done
    connecting,      // CONNECT sent
    active,          // connected
    going_to_sleep,  // DISCONNECT(duration) sent
    asleep,
    awake,          // PINGREQ(client id) sent, collecting buffered messages
    disconnecting,  // DISCONNECT sent
    lost,           // the gateway stopped answering (N_RETRY exhausted)
  };

  explicit NodeClient(NodeConfig cfg);

  // Commands. Each queues a request; it goes out at once when nothing else is outstanding.
  void search_gateway(std::uint8_t radius, Millis now);
  void connect(Millis now);  // uses config().clean_session
  void connect(Millis now, bool clean_session);
  void register_topic(std::string name, Millis now);
  // A normal topic name not registered yet is REGISTERed first. QoS -1 needs a predefined id or a
  // short name and works without a connection. QoS 0/-1 count as published when sent.
  void publish(TopicRef topic, std::vector<std::uint8_t> payload, QoS qos, bool retain, Millis now);
  void subscribe(TopicRef filter, QoS qos, Millis now);
  void unsubscribe(TopicRef filter, Millis now);
  void ping(Millis now);
  void sleep(std::uint16_t duration_s, Millis now);
  void wake(Millis now);
  void disconnect(Millis now);

  // Inputs.
  void on_datagram(Bytes datagram, Millis now);
  void on_tick(Millis now);
  std::optional<Millis> next_deadline() const;

  // Outputs.
  std::vector<Datagram> take_datagrams();
  std::vector<Event> take_events();

  State state() const { return state_; }
  bool idle() const { return !inflight_ && queue_.empty(); }
  const NodeConfig& config() const { return cfg_; }
  const NodeStats& stats() const { return stats_; }
  std::optional<std::uint16_t> topic_id(std::string_view name) const;

 private:
  enum class OpKind : std::uint8_t {
    searchgw,
    connect,
    reg,
    publish,
    subscribe,
    unsubscribe,
    ping,
    sleep,
    wake,
    disconnect
  };
  enum class Stage : std::uint8_t {
    idle,
    wait_gwinfo,
    wait_connack,  // also WILLTOPICREQ / WILLMSGREQ
    wait_regack,
    wait_puback,   // QoS 1
    wait_pubrec,   // QoS 2, first half
    wait_pubcomp,  // QoS 2, second half (PUBREL sent)
    wait_suback,
    wait_unsuback,
    wait_pingresp,
    wait_disconnect,
  };
  struct Op {
    OpKind kind{};
    TopicRef topic{};
    std::vector<std::uint8_t> payload{};
    QoS qos = 0;
    bool retain = false;
    bool clean_session = true;
    std::uint16_t duration = 0;
    std::uint8_t radius = 0;
  };
  struct Inflight {
    Op op;
    Stage stage = Stage::idle;
    std::uint16_t msg_id = 0;
    std::uint16_t topic_id = 0;      // resolved id used in the PUBLISH
    std::vector<std::uint8_t> last;  // the request as sent, for retransmission
    bool dup_on_retry = false;       // PUBLISH / SUBSCRIBE: set the DUP flag when resending
    bool broadcast = false;
    int retries = 0;
    Millis deadline{0};
  };

  void enqueue(Op op, Millis now);
  void pump(Millis now);   // start queued ops while nothing is outstanding
  bool start(Millis now);  // starts inflight_; false: finished at once (QoS 0 sent, or failed)
  void send(const Message& m, Millis now, bool broadcast = false);
  void send_request(const Message& m, Stage stage, Millis now, bool broadcast = false);
  void finish(Millis now);
  void fail(MsgType request, std::string what, ReturnCode rc = ReturnCode::accepted);
  void fail_inflight(std::string what, ReturnCode rc = ReturnCode::accepted);
  void retransmit(Millis now);
  std::uint16_t next_msg_id();
  bool send_publish_of(Inflight& f, Millis now);
  std::string name_for(TopicIdType type, std::uint16_t id) const;
  void emit(Event e) { events_.push_back(std::move(e)); }
  bool stage_is_connect() const { return inflight_ && inflight_->stage == Stage::wait_connack; }
  void forget(std::uint16_t topic_id);

  void handle(const Message& m, Millis now);
  void on_connack(const ConnAck& m, Millis now);
  void on_will_request(bool topic_request, Millis now);
  void on_regack(const RegAck& m, Millis now);
  void on_gateway_register(const Register& m, Millis now);
  void on_publish(const Publish& m, Millis now);
  void on_puback(const PubAck& m, Millis now);
  void on_pubrec(const PubRec& m, Millis now);
  void on_pubrel(const PubRel& m, Millis now);
  void on_pubcomp(const PubComp& m, Millis now);
  void on_suback(const SubAck& m, Millis now);
  void on_unsuback(const UnsubAck& m, Millis now);
  void on_pingresp(Millis now);
  void on_disconnect(const Disconnect& m, Millis now);

  NodeConfig cfg_;
  State state_ = State::disconnected;
  std::deque<Op> queue_;
  std::optional<Inflight> inflight_;
  std::uint16_t msg_id_ = 0;
  Millis last_sent_{0};
  std::map<std::string, std::uint16_t, std::less<>> name_to_id_;
  std::map<std::uint16_t, std::string> id_to_name_;
  std::set<std::uint16_t> awaiting_pubrel_;  // QoS 2 from the gateway: delivered, PUBREC sent
  std::vector<Datagram> out_;
  std::vector<Event> events_;
  NodeStats stats_;
};

const char* to_string(NodeClient::State s);

}  // namespace mqttsn::sim
