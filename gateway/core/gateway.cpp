// Gateway: construction, dispatch of decoded messages to the flow handlers, sending, creating and
// dropping sessions, and topic resolution. The flows themselves live in one file each (see gateway.hpp).
#include "gateway.hpp"

#include <algorithm>
#include <cstring>

#include "codec.hpp"
#include "log.hpp"

namespace mqttsn {

namespace {
// Largest encapsulation header: Len, 0xFE, Ctrl and a 252-octet node id.
constexpr std::size_t kMaxEncapHeader = 3 + 252;
constexpr std::size_t kMaxDatagram = 65535;
}  // namespace

const char* to_string(ClientState s) {
  switch (s) {
    case ClientState::connecting:
      return "connecting";
    case ClientState::active:
      return "active";
    case ClientState::asleep:
      return "asleep";
    case ClientState::awake:
      return "awake";
    case ClientState::lost:
      return "lost";
    case ClientState::disconnected:
      return "disconnected";
  }
  return "?";
}

Gateway::Gateway(const GatewayOptions& options, Outputs& outputs, const AccessPolicy& policy)
    : options_(options),
      out_(outputs),
      policy_(&policy),
      deadlines_([this](DeadlineScheduler::Owner o) -> std::optional<Millis>* {
        Session* s = sessions_.find_by_slot(o.slot, o.serial);
        return s ? &s->scheduled : nullptr;
      }) {
  tx_.resize(kMaxDatagram + kMaxEncapHeader);
  tx_inner_.resize(kMaxDatagram);
  match_scratch_.reserve(64);
  blocked_scratch_.reserve(16);
  if (options_.max_granted_qos > 2) options_.max_granted_qos = 2;
  if (options_.max_granted_qos < 0) options_.max_granted_qos = 0;
  if (options_.limits.in_flight_per_client == 0) options_.limits.in_flight_per_client = 1;
  // With no upstream condition, advertising starts at the first tick.
  if (options_.advertise_period_s > 0 && !options_.advertise_only_when_upstream_connected)
    advertise_due_ = Millis{0};
}

Gateway::~Gateway() {
  // Sessions hold TopicRefs and tree pointers: release them before the tree and the topic table.
  sessions_.clear();
}

Millis Gateway::scaled(std::uint16_t seconds) const {
  return Millis{
      static_cast<std::int64_t>(static_cast<double>(seconds) * 1000.0 * options_.keepalive_tolerance)};
}

// ---------------------------------------------------------------------------------------------
// Inputs

void Gateway::on_datagram(const LinkAddress& from, Bytes datagram, Millis now) {
  counters_.inc(Counter::datagrams_in);
  DecodeResult r = decode(datagram);
  if (!r) {
    counters_.inc(Counter::malformed);
    MQTTSN_LOG(debug, "malformed datagram from %s: %s at %zu", from.to_string().c_str(),
               to_string(r.error().kind), r.error().offset);
    // Spec 4.3: an unsupported ProtocolId is answered with CONNACK "not supported".
    if (r.error().kind == DecodeErrorKind::bad_protocol_id)
      send(PeerRef{&from, false, {}}, ConnAck{ReturnCode::not_supported});
    return;
  }
  const Message& m = r.message();
  if (const auto* e = std::get_if<Encapsulated>(&m)) {
    handle_encapsulated(from, *e, now);
    return;
  }
  dispatch(PeerRef{&from, false, {}}, m, now);
}

void Gateway::dispatch(const PeerRef& peer, const Message& m, Millis now) {
  Session* s = sessions_.find_by_peer(peer);
  if (s && s->peer.address.xbee16 != peer.address->xbee16) s->peer.address.xbee16 = peer.address->xbee16;
  switch (type_of(m)) {
    case MsgType::connect:
      handle_connect(peer, std::get<Connect>(m), now);
      return;
    case MsgType::searchgw:
      handle_searchgw(peer, std::get<SearchGw>(m));
      return;
    case MsgType::pingreq:
      handle_pingreq(peer, s, std::get<PingReq>(m), now);
      return;
    case MsgType::publish:
      if (std::get<Publish>(m).qos == -1) {
        handle_publish_minus1(peer, std::get<Publish>(m));
        return;
      }
      break;
    case MsgType::advertise:
    case MsgType::gwinfo:
      // Other gateways' advertisements and clients answering for a gateway: nothing to do.
      return;
    default:
      break;
  }
  if (!s || !(s->connected() || s->state == ClientState::connecting)) {
    reject_unknown(peer, m);
    return;
  }
  s->last_seen = now;
  s->delivery_failures = 0;
  dispatch_session(*s, m, now);
}

void Gateway::dispatch_session(Session& s, const Message& m, Millis now) {
  // Everything but a QoS 0/1 PUBLISH may change what is kept of a session (a QoS 1 one is kept by the
  // uplink queue, not the session; a QoS 2 one adds an id awaiting PUBREL). A PUBACK completes QoS 1
  // downlink, which may be stored later (see changes_urgent()).
  if (std::holds_alternative<PubAck>(m))
    note_downlink_change(s);
  else if (const auto* p = std::get_if<Publish>(&m); !p || p->qos == 2)
    note_change(s);
  if (s.state == ClientState::connecting) {
    if (const auto* wt = std::get_if<WillTopic>(&m); wt && s.stage == ConnectStage::await_will_topic)
      return handle_will_topic(s, *wt, now);
    if (const auto* wm = std::get_if<WillMsg>(&m); wm && s.stage == ConnectStage::await_will_msg)
      return handle_will_msg(s, *wm, now);
    counters_.inc(Counter::unexpected_message);
    return;
  }
  std::visit(
      [&](const auto& msg) {
        using T = std::decay_t<decltype(msg)>;
        if constexpr (std::is_same_v<T, Publish>)
          handle_publish(s, msg, now);
        else if constexpr (std::is_same_v<T, PubRel>)
          handle_pubrel(s, msg);
        else if constexpr (std::is_same_v<T, PubAck>)
          handle_puback(s, msg, now);
        else if constexpr (std::is_same_v<T, PubRec>)
          handle_pubrec(s, msg, now);
        else if constexpr (std::is_same_v<T, PubComp>)
          handle_pubcomp(s, msg, now);
        else if constexpr (std::is_same_v<T, Register>)
          handle_register(s, msg);
        else if constexpr (std::is_same_v<T, RegAck>)
          handle_regack(s, msg, now);
        else if constexpr (std::is_same_v<T, Subscribe>)
          handle_subscribe(s, msg);
        else if constexpr (std::is_same_v<T, Unsubscribe>)
          handle_unsubscribe(s, msg);
        else if constexpr (std::is_same_v<T, Disconnect>)
          handle_disconnect(s, msg, now);
        else if constexpr (std::is_same_v<T, WillTopicUpd>)
          handle_will_topic_upd(s, msg);
        else if constexpr (std::is_same_v<T, WillMsgUpd>)
          handle_will_msg_upd(s, msg);
        else if constexpr (std::is_same_v<T, PingResp>) {
          // Answer to a gateway PINGREQ (we send none); harmless.
        } else if constexpr (std::is_same_v<T, WillMsg> || std::is_same_v<T, WillTopic>) {
          // Spec 4.3 leaves open whether WILLMSGREQ follows an empty WILLTOPIC; a stray WILLMSG
          // (or a late duplicate) after the CONNACK is tolerated silently.
        } else {
          counters_.inc(Counter::unexpected_message);
        }
      },
      m);
}

// A message that needs a session from a sender that has none. Field choice (spec 4.9 allows it):
// answer requests with DISCONNECT so a node that still believes it is connected (e.g. after a
// gateway restart that lost its session) reconnects at once instead of retrying into the void.
// A QoS 1/2 PUBLISH with a registered topic id gets the protocol's own answer instead, "invalid
// topic id": the node registers again (and, refused that, reconnects). Its state is never guessed.
// Acks are dropped.
void Gateway::reject_unknown(const PeerRef& peer, const Message& m) {
  counters_.inc(Counter::unknown_client);
  if (const auto* p = std::get_if<Publish>(&m); p && p->qos > 0 && p->topic_id_type == TopicIdType::normal) {
    send(peer, PubAck{p->topic_id, p->msg_id, ReturnCode::invalid_topic_id});
    return;
  }
  switch (type_of(m)) {
    case MsgType::publish:
    case MsgType::reg:
    case MsgType::subscribe:
    case MsgType::unsubscribe:
    case MsgType::disconnect:
    case MsgType::willtopicupd:
    case MsgType::willmsgupd:
    case MsgType::pubrel:
      send(peer, Disconnect{});
      return;
    default:
      return;
  }
}

// ---------------------------------------------------------------------------------------------
// Sending

void Gateway::send(const PeerRef& to, const Message& m, std::uint8_t ctrl) {
  if (!to.forwarded) {
    EncodeResult r = encode(m, std::span<std::uint8_t>(tx_.data(), kMaxDatagram));
    if (!r) {
      MQTTSN_LOG(warning, "cannot encode %s for %s", to_string(type_of(m)), to.address->to_string().c_str());
      return;
    }
    counters_.inc(Counter::datagrams_out);
    out_.send(*to.address, Bytes(tx_.data(), r.size));
    return;
  }
  // Spec 4.12: replies to a node behind a forwarder go to the forwarder, wrapped with the same node
  // id. The header is written here directly: Len counts only Len, 0xFE, Ctrl and the node id.
  EncodeResult r = encode(m, std::span<std::uint8_t>(tx_inner_.data(), tx_inner_.size()));
  std::size_t header = 3 + to.node_id.size();
  if (!r || to.node_id.size() > 252 || header + r.size > kMaxDatagram + kMaxEncapHeader) return;
  tx_[0] = static_cast<std::uint8_t>(header);
  tx_[1] = static_cast<std::uint8_t>(MsgType::encapsulated);
  tx_[2] = ctrl;
  if (!to.node_id.empty()) std::memcpy(tx_.data() + 3, to.node_id.data(), to.node_id.size());
  std::memcpy(tx_.data() + header, tx_inner_.data(), r.size);
  counters_.inc(Counter::datagrams_out);
  out_.send(*to.address, Bytes(tx_.data(), header + r.size));
}

std::size_t Gateway::wire_size(const Session& s, const Message& m) const {
  return encoded_size(m) + (s.peer.forwarded ? 3 + s.peer.node_id.size() : 0);
}

std::size_t Gateway::downlink_limit(const Session& s) const {
  const auto& per_link = options_.limits.link_max_datagram;
  const std::size_t link = s.peer.address.link;
  const std::size_t limit = options_.limits.max_downlink_datagram;
  return link < per_link.size() ? std::min(limit, per_link[link]) : limit;
}

// ---------------------------------------------------------------------------------------------
// Sessions

Session& Gateway::create_session(const PeerRef& peer, std::string_view client_id) {
  Session& s = sessions_.create(peer, client_id);
  note_change(s);
  return s;
}

void Gateway::rebind(Session& s, const PeerRef& peer) {
  sessions_.rebind(s, peer);
  note_change(s);
}

// Unconfirmed gateway registrations (the client never acknowledged them) and uplink messages
// waiting for the broker on the client's behalf: nobody is there to answer any more.
void Gateway::forget_unconfirmed(Session& s) {
  std::erase_if(pending_uplinks_,
                [&](const auto& kv) { return kv.second.slot == s.slot && kv.second.serial == s.serial; });
  if (!s.outbox) return;
  for (const auto& r : s.outbox->registering) s.registry.erase(r.topic_id);
  s.outbox->registering.clear();
}

void Gateway::drop_delivery_state(Session& s) {
  if (s.clean_session) return discard_delivery_state(s);
  // A kept session keeps what the client has not acknowledged yet (sent again with DUP when it
  // connects without CleanSession) and its QoS 2 ids awaiting PUBREL.
  forget_unconfirmed(s);
  release_outbox_if_empty(s);
  std::erase_if(s.inbound, [](const InboundPublish& r) { return r.qos != 2 || !r.upstream_done; });
}

void Gateway::discard_delivery_state(Session& s) {
  forget_unconfirmed(s);
  if (s.outbox) {
    counters_.inc(Counter::dropped_offline, s.outbox->queue.size() + s.outbox->in_flight.size());
    s.outbox.reset();
  }
  s.inbound.clear();
  s.inbound.shrink_to_fit();
}

void Gateway::clear_session_state(Session& s) {
  discard_delivery_state(s);
  while (!s.subscriptions.empty()) remove_subscription(s, s.subscriptions.size() - 1);
  s.subscriptions.shrink_to_fit();
  s.registry.clear();
  s.rejected_topics.clear();
  s.rejected_topics.shrink_to_fit();
  s.will.reset();
}

void Gateway::destroy_session(Session& s) {
  // A clean session ends with its node: one still there by the last word told (a clean DISCONNECT,
  // a refused will) is now offline. A lost or removed one has been told so already.
  if (s.told == Presence::online || s.told == Presence::asleep) tell_presence(s, Presence::offline);
  close_node_upstream(s);  // first: its subscriptions go with the connection, not one by one
  if (track_changes_ && !s.change_noted) changed_.push_back(s.client_id);  // so the store forgets it
  clear_session_state(s);
  sessions_.destroy(s);
}

// When the table is full, a persistent session whose client is gone (disconnected or lost) makes
// room for a node that is here now: the least recently seen one goes.
bool Gateway::evict_one_persistent() {
  Session* victim = nullptr;
  for (Session& s : sessions_)
    if ((s.state == ClientState::disconnected || s.state == ClientState::lost) &&
        (!victim || s.last_seen < victim->last_seen))
      victim = &s;
  if (!victim) return false;
  counters_.inc(Counter::sessions_evicted);
  tell_presence(*victim, Presence::removed);
  destroy_session(*victim);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Topics

const std::string* Gateway::predefined_topic(std::string_view client_id, std::uint16_t id) const {
  if (!client_id.empty() && !predefined_.per_client.empty()) {
    if (auto c = predefined_.per_client.find(client_id); c != predefined_.per_client.end())
      if (auto it = c->second.find(id); it != c->second.end()) return &it->second;
  }
  if (auto it = predefined_.global.find(id); it != predefined_.global.end()) return &it->second;
  return nullptr;
}

std::optional<std::uint16_t> Gateway::predefined_id(const Session& s, std::string_view topic) const {
  if (!predefined_.per_client.empty()) {
    if (auto c = predefined_.per_client.find(s.client_id); c != predefined_.per_client.end())
      for (const auto& [id, name] : c->second)
        if (name == topic) return id;
  }
  for (const auto& [id, name] : predefined_.global)
    if (name == topic && predefined_topic(s.client_id, id) == &name) return id;
  return std::nullopt;
}

std::string_view Gateway::resolve_topic(const Session* s, TopicIdType type, std::uint16_t id,
                                        char (&short_buf)[2]) const {
  switch (type) {
    case TopicIdType::normal: {
      if (!s) return {};
      const TopicMapping* m = s->registry.find_id(id);
      return m ? m->topic.view() : std::string_view{};
    }
    case TopicIdType::predefined: {
      const std::string* t = predefined_topic(s ? std::string_view(s->client_id) : std::string_view{}, id);
      return t ? std::string_view(*t) : std::string_view{};
    }
    case TopicIdType::short_name:
      short_buf[0] = static_cast<char>(id >> 8);
      short_buf[1] = static_cast<char>(id & 0xFF);
      return {short_buf, 2};
  }
  return {};
}

void Gateway::set_predefined_topics(PredefinedTopics topics) {
  PredefinedTable t;
  for (auto& p : topics) {
    if (p.id == kNoTopicId || p.id == kReservedTopicId || !valid_topic_name(p.topic)) {
      MQTTSN_LOG(warning, "predefined topic id %u '%s' ignored (reserved id or invalid name)", p.id,
                 p.topic.c_str());
      continue;
    }
    if (p.client_id && !p.client_id->empty() && *p.client_id != "*")
      t.per_client[*p.client_id][p.id] = std::move(p.topic);
    else
      t.global[p.id] = std::move(p.topic);
  }
  predefined_ = std::move(t);
}

}  // namespace mqttsn
