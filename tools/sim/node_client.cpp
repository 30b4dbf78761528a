#include "tools/sim/node_client.hpp"

#include <cstdio>
#include <type_traits>
#include <utility>

#include "gateway/core/codec.hpp"

namespace mqttsn::sim {

namespace {

Bytes as_bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string hex16(std::uint16_t v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%04X", v);
  return buf;
}

std::string rc_text(ReturnCode rc) {
  switch (rc) {
    case ReturnCode::accepted:
      return "accepted";
    case ReturnCode::congestion:
      return "rejected: congestion";
    case ReturnCode::invalid_topic_id:
      return "rejected: invalid topic id";
    case ReturnCode::not_supported:
      return "rejected: not supported";
  }
  return "rc " + std::to_string(static_cast<int>(rc));
}

}  // namespace

std::string TopicRef::to_string() const {
  switch (type) {
    case TopicIdType::predefined:
      return "predefined:" + hex16(id);
    case TopicIdType::short_name:
    case TopicIdType::normal:
      return name;
  }
  return name;
}

const char* to_string(EventKind k) {
  switch (k) {
    case EventKind::gateway_found:
      return "gateway_found";
    case EventKind::advertise:
      return "advertise";
    case EventKind::connected:
      return "connected";
    case EventKind::registered:
      return "registered";
    case EventKind::published:
      return "published";
    case EventKind::subscribed:
      return "subscribed";
    case EventKind::unsubscribed:
      return "unsubscribed";
    case EventKind::message:
      return "message";
    case EventKind::gateway_register:
      return "gateway_register";
    case EventKind::asleep:
      return "asleep";
    case EventKind::awake_done:
      return "awake_done";
    case EventKind::pong:
      return "pong";
    case EventKind::disconnected:
      return "disconnected";
    case EventKind::failure:
      return "failure";
  }
  return "?";
}

const char* to_string(NodeClient::State s) {
  switch (s) {
    case NodeClient::State::disconnected:
      return "disconnected";
    case NodeClient::State::connecting:
      return "connecting";
    case NodeClient::State::active:
      return "active";
    case NodeClient::State::going_to_sleep:
      return "going_to_sleep";
    case NodeClient::State::asleep:
      return "asleep";
    case NodeClient::State::awake:
      return "awake";
    case NodeClient::State::disconnecting:
      return "disconnecting";
    case NodeClient::State::lost:
      return "lost";
  }
  return "?";
}

NodeClient::NodeClient(NodeConfig cfg) : cfg_(std::move(cfg)) {}

// ---- commands ------------------------------------------------------------------------------

void NodeClient::search_gateway(std::uint8_t radius, Millis now) {
  Op op{.kind = OpKind::searchgw};
  op.radius = radius;
  enqueue(std::move(op), now);
}

void NodeClient::connect(Millis now) {
  connect(now, cfg_.clean_session);
}

void NodeClient::connect(Millis now, bool clean_session) {
  Op op{.kind = OpKind::connect};
  op.clean_session = clean_session;
  enqueue(std::move(op), now);
}

void NodeClient::register_topic(std::string name, Millis now) {
  enqueue(Op{.kind = OpKind::reg, .topic = TopicRef::named(std::move(name))}, now);
}

void NodeClient::publish(TopicRef topic, std::vector<std::uint8_t> payload, QoS qos, bool retain,
                         Millis now) {
  enqueue(Op{.kind = OpKind::publish,
             .topic = std::move(topic),
             .payload = std::move(payload),
             .qos = qos,
             .retain = retain},
          now);
}

void NodeClient::subscribe(TopicRef filter, QoS qos, Millis now) {
  enqueue(Op{.kind = OpKind::subscribe, .topic = std::move(filter), .qos = qos}, now);
}

void NodeClient::unsubscribe(TopicRef filter, Millis now) {
  enqueue(Op{.kind = OpKind::unsubscribe, .topic = std::move(filter)}, now);
}

void NodeClient::ping(Millis now) {
  enqueue(Op{.kind = OpKind::ping}, now);
}

void NodeClient::sleep(std::uint16_t duration_s, Millis now) {
  Op op{.kind = OpKind::sleep};
  op.duration = duration_s;
  enqueue(std::move(op), now);
}

void NodeClient::wake(Millis now) {
  enqueue(Op{.kind = OpKind::wake}, now);
}

void NodeClient::disconnect(Millis now) {
  enqueue(Op{.kind = OpKind::disconnect}, now);
}

std::optional<std::uint16_t> NodeClient::topic_id(std::string_view name) const {
  auto it = name_to_id_.find(name);
  if (it == name_to_id_.end()) return std::nullopt;
  return it->second;
}

// ---- request machinery ---------------------------------------------------------------------

void NodeClient::enqueue(Op op, Millis now) {
  queue_.push_back(std::move(op));
  pump(now);
}

void NodeClient::pump(Millis now) {
  while (!inflight_ && !queue_.empty()) {
    inflight_.emplace();
    inflight_->op = std::move(queue_.front());
    queue_.pop_front();
    if (!start(now)) inflight_.reset();
  }
}

std::uint16_t NodeClient::next_msg_id() {
  msg_id_ = static_cast<std::uint16_t>(msg_id_ + 1);
  if (msg_id_ == 0) msg_id_ = 1;  // 0x0000 is the QoS 0 "no id" value
  return msg_id_;
}

// The simulated node encodes (and decodes, in on_datagram) with the gateway's own codec, so a bug
// the codec makes on both sides is invisible end to end: sim and gateway agree on the wrong bytes.
// What guards the codec itself are the byte vectors of tests/codec (tests/data/mqttsn-vectors.txt),
// checked against fixed octets rather than against the codec's other half.
void NodeClient::send(const Message& m, Millis now, bool broadcast) {
  Datagram d;
  d.bytes.resize(encoded_size(m));
  auto r = encode(m, d.bytes);
  if (!r) {
    fail(type_of(m), "cannot encode (field out of range)");
    return;
  }
  d.bytes.resize(r.size);
  d.broadcast = broadcast;
  out_.push_back(std::move(d));
  last_sent_ = now;
  ++stats_.datagrams_out;
}

void NodeClient::send_request(const Message& m, Stage stage, Millis now, bool broadcast) {
  send(m, now, broadcast);
  Inflight& f = *inflight_;
  f.stage = stage;
  f.last = out_.back().bytes;
  f.broadcast = broadcast;
  f.retries = 0;
  f.deadline = now + cfg_.t_retry;
}

void NodeClient::fail(MsgType request, std::string what, ReturnCode rc) {
  Event e{.kind = EventKind::failure};
  e.request = request;
  e.rc = rc;
  e.what = std::move(what);
  emit(std::move(e));
}

void NodeClient::fail_inflight(std::string what, ReturnCode rc) {
  const Op& op = inflight_->op;
  MsgType t = MsgType::connect;
  switch (op.kind) {
    case OpKind::searchgw:
      t = MsgType::searchgw;
      break;
    case OpKind::connect:
      t = MsgType::connect;
      break;
    case OpKind::reg:
      t = MsgType::reg;
      break;
    case OpKind::publish:
      t = MsgType::publish;
      break;
    case OpKind::subscribe:
      t = MsgType::subscribe;
      break;
    case OpKind::unsubscribe:
      t = MsgType::unsubscribe;
      break;
    case OpKind::ping:
    case OpKind::wake:
      t = MsgType::pingreq;
      break;
    case OpKind::sleep:
    case OpKind::disconnect:
      t = MsgType::disconnect;
      break;
  }
  Event e{.kind = EventKind::failure};
  e.request = t;
  e.rc = rc;
  e.topic = op.topic.to_string();
  e.msg_id = inflight_->msg_id;
  e.what = std::string(mqttsn::to_string(t)) + ": " + what;
  emit(std::move(e));
}

void NodeClient::finish(Millis now) {
  inflight_.reset();
  pump(now);
}

void NodeClient::retransmit(Millis now) {
  Inflight& f = *inflight_;
  if (f.retries >= cfg_.n_retry) {
    fail_inflight("no reply after " + std::to_string(cfg_.n_retry + 1) + " attempts");
    // A discovery timeout says nothing about a session; anything else means the gateway is gone.
    if (f.op.kind != OpKind::searchgw) state_ = State::lost;
    finish(now);
    return;
  }
  ++f.retries;
  ++stats_.retransmissions;
  Datagram d{f.last, f.broadcast};
  if (f.dup_on_retry && !d.bytes.empty()) {
    // PUBLISH and SUBSCRIBE carry Flags right after the header; DUP is bit 7.
    std::size_t flags_at = d.bytes[0] == 0x01 ? 4 : 2;
    if (flags_at < d.bytes.size()) d.bytes[flags_at] |= 0x80;
  }
  out_.push_back(std::move(d));
  ++stats_.datagrams_out;
  last_sent_ = now;
  f.deadline = now + cfg_.t_retry;
}

bool NodeClient::start(Millis now) {
  Inflight& f = *inflight_;
  Op& op = f.op;
  auto needs_session = [&](MsgType t) {
    if (state_ == State::active) return true;
    fail(t, std::string("not connected (") + mqttsn::sim::to_string(state_) + ")");
    return false;
  };
  switch (op.kind) {
    case OpKind::searchgw:
      send_request(SearchGw{op.radius}, Stage::wait_gwinfo, now, /*broadcast=*/true);
      return true;
    case OpKind::connect: {
      Connect c;
      c.will = cfg_.will.has_value();
      c.clean_session = op.clean_session;
      c.duration = cfg_.keep_alive_s;
      c.client_id = cfg_.client_id;
      state_ = State::connecting;
      send_request(c, Stage::wait_connack, now);
      return true;
    }
    case OpKind::reg:
      if (!needs_session(MsgType::reg)) return false;
      if (auto known = topic_id(op.topic.name)) {
        // Already registered in this session (e.g. by a PUBLISH that needed it): nothing to send.
        Event e{.kind = EventKind::registered};
        e.topic = op.topic.name;
        e.topic_id = *known;
        emit(std::move(e));
        return false;
      }
      f.msg_id = next_msg_id();
      send_request(Register{kNoTopicId, f.msg_id, op.topic.name}, Stage::wait_regack, now);
      return true;
    case OpKind::publish: {
      if (op.qos < 0) {
        if (op.topic.type == TopicIdType::normal) {
          fail(MsgType::publish, "QoS -1 needs a predefined topic id or a short topic name");
          return false;
        }
      } else if (!needs_session(MsgType::publish)) {
        return false;
      }
      switch (op.topic.type) {
        case TopicIdType::predefined:
          f.topic_id = op.topic.id;
          break;
        case TopicIdType::short_name:
          if (op.topic.name.size() != 2) {
            fail(MsgType::publish, "a short topic name has exactly 2 characters: '" + op.topic.name + "'");
            return false;
          }
          f.topic_id = short_topic_id(op.topic.name[0], op.topic.name[1]);
          break;
        case TopicIdType::normal:
          if (auto id = topic_id(op.topic.name)) {
            f.topic_id = *id;
          } else {
            // Unknown name: REGISTER first; the PUBLISH follows the REGACK (see on_regack).
            f.msg_id = next_msg_id();
            send_request(Register{kNoTopicId, f.msg_id, op.topic.name}, Stage::wait_regack, now);
            return true;
          }
          break;
      }
      return send_publish_of(f, now);
    }
    case OpKind::subscribe:
    case OpKind::unsubscribe: {
      bool sub = op.kind == OpKind::subscribe;
      if (!needs_session(sub ? MsgType::subscribe : MsgType::unsubscribe)) return false;
      f.msg_id = next_msg_id();
      std::uint16_t id = op.topic.id;
      if (op.topic.type == TopicIdType::short_name) {
        if (op.topic.name.size() != 2) {
          fail(MsgType::subscribe, "a short topic name has exactly 2 characters: '" + op.topic.name + "'");
          return false;
        }
        id = short_topic_id(op.topic.name[0], op.topic.name[1]);
      }
      std::string_view name = op.topic.type == TopicIdType::normal ? std::string_view(op.topic.name) : "";
      if (sub) {
        Subscribe s;
        s.qos = op.qos;
        s.topic_id_type = op.topic.type;
        s.msg_id = f.msg_id;
        s.topic_name = name;
        s.topic_id = id;
        send_request(s, Stage::wait_suback, now);
        f.dup_on_retry = true;
      } else {
        Unsubscribe u;
        u.topic_id_type = op.topic.type;
        u.msg_id = f.msg_id;
        u.topic_name = name;
        u.topic_id = id;
        send_request(u, Stage::wait_unsuback, now);
      }
      return true;
    }
    case OpKind::ping:
      if (!needs_session(MsgType::pingreq)) return false;
      send_request(PingReq{}, Stage::wait_pingresp, now);
      return true;
    case OpKind::sleep:
      if (state_ != State::active && state_ != State::asleep) {
        fail(MsgType::disconnect, std::string("cannot sleep while ") + mqttsn::sim::to_string(state_));
        return false;
      }
      state_ = State::going_to_sleep;
      send_request(Disconnect{op.duration}, Stage::wait_disconnect, now);
      return true;
    case OpKind::wake:
      if (state_ != State::asleep) {
        fail(MsgType::pingreq, std::string("cannot wake while ") + mqttsn::sim::to_string(state_));
        return false;
      }
      state_ = State::awake;
      send_request(PingReq{cfg_.client_id}, Stage::wait_pingresp, now);
      return true;
    case OpKind::disconnect:
      if (state_ == State::disconnected || state_ == State::lost) return false;
      state_ = State::disconnecting;
      send_request(Disconnect{}, Stage::wait_disconnect, now);
      return true;
  }
  return false;
}

bool NodeClient::send_publish_of(Inflight& f, Millis now) {
  const Op& op = f.op;
  Publish p;
  p.qos = op.qos;
  p.retain = op.retain;
  p.topic_id_type = op.topic.type;
  p.topic_id = f.topic_id;
  p.data = op.payload;
  if (op.qos <= 0) {
    p.msg_id = 0;
    send(p, now);
    Event e{.kind = EventKind::published};
    e.topic = op.topic.to_string();
    e.topic_id = f.topic_id;
    e.qos = op.qos;
    e.payload = op.payload;
    emit(std::move(e));
    return false;
  }
  f.msg_id = next_msg_id();
  p.msg_id = f.msg_id;
  send_request(p, op.qos == 1 ? Stage::wait_puback : Stage::wait_pubrec, now);
  f.dup_on_retry = true;
  return true;
}

// ---- inputs --------------------------------------------------------------------------------

void NodeClient::on_tick(Millis now) {
  if (inflight_ && now >= inflight_->deadline) retransmit(now);
  if (!inflight_ && queue_.empty() && state_ == State::active && cfg_.keep_alive_s > 0 &&
      now >= last_sent_ + Millis(cfg_.keep_alive_s * 1000LL)) {
    ping(now);
  }
  pump(now);
}

std::optional<Millis> NodeClient::next_deadline() const {
  if (inflight_) return inflight_->deadline;
  if (state_ == State::active && cfg_.keep_alive_s > 0)
    return last_sent_ + Millis(cfg_.keep_alive_s * 1000LL);
  return std::nullopt;
}

std::vector<Datagram> NodeClient::take_datagrams() {
  return std::exchange(out_, {});
}
std::vector<Event> NodeClient::take_events() {
  return std::exchange(events_, {});
}

void NodeClient::on_datagram(Bytes datagram, Millis now) {
  ++stats_.datagrams_in;
  auto r = decode(datagram);
  if (!r) {
    ++stats_.decode_errors;
    fail(MsgType::encapsulated, std::string("undecodable datagram from the gateway: ") +
                                    mqttsn::to_string(r.error().kind) + " (" + r.error().detail + ")");
    return;
  }
  handle(r.message(), now);
  pump(now);
}

namespace {
template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;
}  // namespace

void NodeClient::handle(const Message& msg, Millis now) {
  auto stage_is = [this](Stage s) { return inflight_ && inflight_->stage == s; };
  std::visit(
      Overloaded{
          [&](const Advertise& m) {
            Event e{.kind = EventKind::advertise};
            e.gw_id = m.gw_id;
            emit(std::move(e));
          },
          [&](const GwInfo& m) {
            if (!stage_is(Stage::wait_gwinfo)) return;  // an answer to another node's search
            Event e{.kind = EventKind::gateway_found};
            e.gw_id = m.gw_id;
            emit(std::move(e));
            finish(now);
          },
          [&](const ConnAck& m) { on_connack(m, now); },
          [&](const WillTopicReq&) { on_will_request(true, now); },
          [&](const WillMsgReq&) { on_will_request(false, now); },
          [&](const Register& m) { on_gateway_register(m, now); },
          [&](const RegAck& m) { on_regack(m, now); },
          [&](const Publish& m) { on_publish(m, now); },
          [&](const PubAck& m) { on_puback(m, now); },
          [&](const PubRec& m) { on_pubrec(m, now); },
          [&](const PubRel& m) { on_pubrel(m, now); },
          [&](const PubComp& m) { on_pubcomp(m, now); },
          [&](const SubAck& m) { on_suback(m, now); },
          [&](const UnsubAck& m) { on_unsuback(m, now); },
          [&](const PingReq&) { send(PingResp{}, now); },
          [&](const PingResp&) { on_pingresp(now); },
          [&](const Disconnect& m) { on_disconnect(m, now); },
          [&](const WillTopicResp&) {},
          [&](const WillMsgResp&) {},
          [&](const auto& m) {
            // Client-to-gateway messages (CONNECT, SUBSCRIBE, ...) and encapsulation never reach a node.
            fail(type_of(Message{m}),
                 std::string("unexpected ") + mqttsn::to_string(type_of(Message{m})) + " from the gateway");
          },
      },
      msg);
}

void NodeClient::on_connack(const ConnAck& m, Millis now) {
  if (!stage_is_connect()) {
    ++stats_.stray_replies;
    return;
  }
  if (m.rc == ReturnCode::accepted) {
    state_ = State::active;
    if (inflight_->op.clean_session) {
      // A clean session starts with empty topic tables on the gateway: ids learned before are void.
      name_to_id_.clear();
      id_to_name_.clear();
      awaiting_pubrel_.clear();
    }
    emit(Event{.kind = EventKind::connected});
  } else {
    state_ = State::disconnected;
    fail_inflight("CONNACK " + rc_text(m.rc), m.rc);
  }
  finish(now);
}

void NodeClient::on_will_request(bool topic_request, Millis now) {
  if (!stage_is_connect()) {
    ++stats_.stray_replies;
    return;
  }
  if (topic_request) {
    WillTopic w;
    if (cfg_.will) {
      w.qos = cfg_.will->qos;
      w.retain = cfg_.will->retain;
      w.topic = cfg_.will->topic;
    } else {
      w.empty = true;  // asked anyway: "no will"
    }
    send(w, now);
  } else {
    WillMsg w;
    if (cfg_.will) w.message = as_bytes(cfg_.will->message);
    send(w, now);
  }
  // The exchange is alive: give the gateway a full T_RETRY for its next step. A timeout resends
  // CONNECT (the f.last bytes), which restarts the procedure as the spec says.
  inflight_->deadline = now + cfg_.t_retry;
}

void NodeClient::on_gateway_register(const Register& m, Millis now) {
  ReturnCode rc = cfg_.answer_gateway_register;
  if (m.topic_id == kNoTopicId || m.topic_id == kReservedTopicId) rc = ReturnCode::invalid_topic_id;
  send(RegAck{m.topic_id, m.msg_id, rc}, now);
  if (rc != ReturnCode::accepted) return;
  std::string name(m.topic_name);
  if (auto old = id_to_name_.find(m.topic_id); old != id_to_name_.end()) name_to_id_.erase(old->second);
  id_to_name_[m.topic_id] = name;
  name_to_id_[name] = m.topic_id;
  Event e{.kind = EventKind::gateway_register};
  e.topic = std::move(name);
  e.topic_id = m.topic_id;
  emit(std::move(e));
}

void NodeClient::on_regack(const RegAck& m, Millis now) {
  if (!inflight_ || inflight_->stage != Stage::wait_regack || inflight_->msg_id != m.msg_id) {
    ++stats_.stray_replies;
    return;
  }
  Inflight& f = *inflight_;
  if (m.rc != ReturnCode::accepted) {
    fail_inflight("REGACK " + rc_text(m.rc) + " for '" + f.op.topic.name + "'", m.rc);
    finish(now);
    return;
  }
  if (m.topic_id == kNoTopicId || m.topic_id == kReservedTopicId) {
    fail_inflight("REGACK accepted with reserved topic id " + hex16(m.topic_id));
    finish(now);
    return;
  }
  if (auto old = id_to_name_.find(m.topic_id); old != id_to_name_.end()) name_to_id_.erase(old->second);
  name_to_id_[f.op.topic.name] = m.topic_id;
  id_to_name_[m.topic_id] = f.op.topic.name;
  Event e{.kind = EventKind::registered};
  e.topic = f.op.topic.name;
  e.topic_id = m.topic_id;
  e.msg_id = m.msg_id;
  emit(std::move(e));
  if (f.op.kind == OpKind::publish) {
    f.topic_id = m.topic_id;
    f.dup_on_retry = false;
    if (send_publish_of(f, now)) return;  // now waiting for PUBACK / PUBREC
  }
  finish(now);
}

std::string NodeClient::name_for(TopicIdType type, std::uint16_t id) const {
  switch (type) {
    case TopicIdType::normal: {
      auto it = id_to_name_.find(id);
      return it == id_to_name_.end() ? std::string() : it->second;
    }
    case TopicIdType::predefined: {
      auto it = cfg_.predefined.find(id);
      return it == cfg_.predefined.end() ? "predefined:" + hex16(id) : it->second;
    }
    case TopicIdType::short_name:
      return std::string{static_cast<char>(id >> 8), static_cast<char>(id & 0xFF)};
  }
  return {};
}

void NodeClient::on_publish(const Publish& m, Millis now) {
  if (state_ == State::asleep || state_ == State::disconnected || state_ == State::lost) {
    fail(MsgType::publish, std::string("PUBLISH from the gateway while ") + mqttsn::sim::to_string(state_));
  }
  std::string name = name_for(m.topic_id_type, m.topic_id);
  if (name.empty()) {
    // We never learned this id: tell the gateway (spec: PUBACK "invalid topic id") and report it.
    send(PubAck{m.topic_id, m.msg_id, ReturnCode::invalid_topic_id}, now);
    fail(MsgType::publish, "PUBLISH with unknown topic id " + hex16(m.topic_id));
    return;
  }
  if (m.qos == 1) send(PubAck{m.topic_id, m.msg_id, ReturnCode::accepted}, now);
  if (m.qos == 2) {
    bool first = awaiting_pubrel_.insert(m.msg_id).second;
    send(PubRec{m.msg_id}, now);
    if (!first) return;  // a DUP of a message already delivered: exactly once
  }
  Event e{.kind = EventKind::message};
  e.topic = std::move(name);
  e.topic_id = m.topic_id;
  e.msg_id = m.msg_id;
  e.qos = m.qos;
  e.retain = m.retain;
  e.dup = m.dup;
  e.payload.assign(m.data.begin(), m.data.end());
  emit(std::move(e));
}

void NodeClient::on_puback(const PubAck& m, Millis now) {
  bool ours = inflight_ && inflight_->msg_id == m.msg_id && m.msg_id != 0 &&
              (inflight_->stage == Stage::wait_puback || inflight_->stage == Stage::wait_pubrec);
  if (!ours) {
    if (m.rc != ReturnCode::accepted) {
      // The error answer to a QoS 0 PUBLISH (MsgId 0), or a late one.
      Event e{.kind = EventKind::failure};
      e.request = MsgType::publish;
      e.rc = m.rc;
      e.topic_id = m.topic_id;
      e.msg_id = m.msg_id;
      e.topic = name_for(TopicIdType::normal, m.topic_id);
      if (m.rc == ReturnCode::invalid_topic_id) forget(m.topic_id);
      e.what = "PUBACK " + rc_text(m.rc) + " for topic id " + hex16(m.topic_id);
      emit(std::move(e));
    } else {
      ++stats_.stray_replies;
    }
    return;
  }
  Inflight& f = *inflight_;
  if (m.rc == ReturnCode::accepted && f.stage == Stage::wait_puback) {
    Event e{.kind = EventKind::published};
    e.topic = f.op.topic.to_string();
    e.topic_id = f.topic_id;
    e.msg_id = f.msg_id;
    e.qos = f.op.qos;
    e.payload = f.op.payload;
    emit(std::move(e));
  } else {
    if (m.rc == ReturnCode::invalid_topic_id && f.op.topic.type == TopicIdType::normal) forget(f.topic_id);
    fail_inflight("PUBACK " + rc_text(m.rc), m.rc == ReturnCode::accepted ? ReturnCode::not_supported : m.rc);
  }
  finish(now);
}

void NodeClient::forget(std::uint16_t topic_id) {
  // "Invalid topic id" for a normal id: the next PUBLISH on that name registers it again.
  if (auto it = id_to_name_.find(topic_id); it != id_to_name_.end()) {
    name_to_id_.erase(it->second);
    id_to_name_.erase(it);
  }
}

void NodeClient::on_pubrec(const PubRec& m, Millis now) {
  if (inflight_ && inflight_->msg_id == m.msg_id &&
      (inflight_->stage == Stage::wait_pubrec || inflight_->stage == Stage::wait_pubcomp)) {
    // A repeated PUBREC (our PUBREL got lost) is answered with PUBREL again.
    inflight_->dup_on_retry = false;
    send_request(PubRel{m.msg_id}, Stage::wait_pubcomp, now);
    return;
  }
  ++stats_.stray_replies;
}

void NodeClient::on_pubrel(const PubRel& m, Millis now) {
  awaiting_pubrel_.erase(m.msg_id);
  send(PubComp{m.msg_id}, now);  // also for an unknown id: the gateway may retry after our PUBCOMP got lost
}

void NodeClient::on_pubcomp(const PubComp& m, Millis now) {
  if (!inflight_ || inflight_->stage != Stage::wait_pubcomp || inflight_->msg_id != m.msg_id) {
    ++stats_.stray_replies;
    return;
  }
  Inflight& f = *inflight_;
  Event e{.kind = EventKind::published};
  e.topic = f.op.topic.to_string();
  e.topic_id = f.topic_id;
  e.msg_id = f.msg_id;
  e.qos = f.op.qos;
  e.payload = f.op.payload;
  emit(std::move(e));
  finish(now);
}

void NodeClient::on_suback(const SubAck& m, Millis now) {
  if (!inflight_ || inflight_->stage != Stage::wait_suback || inflight_->msg_id != m.msg_id) {
    ++stats_.stray_replies;
    return;
  }
  Inflight& f = *inflight_;
  if (m.rc != ReturnCode::accepted) {
    fail_inflight("SUBACK " + rc_text(m.rc) + " for '" + f.op.topic.to_string() + "'", m.rc);
    finish(now);
    return;
  }
  const std::string& name = f.op.topic.name;
  bool wildcard = name.find_first_of("+#") != std::string::npos;
  if (f.op.topic.type == TopicIdType::normal && !wildcard && m.topic_id != kNoTopicId) {
    // A plain name gets its id in the SUBACK; later PUBLISHes use it without a REGISTER.
    if (auto old = id_to_name_.find(m.topic_id); old != id_to_name_.end()) name_to_id_.erase(old->second);
    id_to_name_[m.topic_id] = name;
    name_to_id_[name] = m.topic_id;
  }
  Event e{.kind = EventKind::subscribed};
  e.topic = f.op.topic.to_string();
  e.topic_id = m.topic_id;
  e.msg_id = m.msg_id;
  e.qos = m.qos;
  emit(std::move(e));
  finish(now);
}

void NodeClient::on_unsuback(const UnsubAck& m, Millis now) {
  if (!inflight_ || inflight_->stage != Stage::wait_unsuback || inflight_->msg_id != m.msg_id) {
    ++stats_.stray_replies;
    return;
  }
  Event e{.kind = EventKind::unsubscribed};
  e.topic = inflight_->op.topic.to_string();
  e.msg_id = m.msg_id;
  emit(std::move(e));
  finish(now);
}

void NodeClient::on_pingresp(Millis now) {
  if (!inflight_ || inflight_->stage != Stage::wait_pingresp) {
    ++stats_.stray_replies;  // e.g. the answer to a retransmitted PINGREQ
    return;
  }
  if (inflight_->op.kind == OpKind::wake) {
    state_ = State::asleep;
    emit(Event{.kind = EventKind::awake_done});
  } else {
    emit(Event{.kind = EventKind::pong});
  }
  finish(now);
}

void NodeClient::on_disconnect(const Disconnect&, Millis now) {
  if (inflight_ && inflight_->stage == Stage::wait_disconnect) {
    if (inflight_->op.kind == OpKind::sleep) {
      state_ = State::asleep;
      emit(Event{.kind = EventKind::asleep});
    } else {
      state_ = State::disconnected;
      emit(Event{.kind = EventKind::disconnected});
    }
    finish(now);
    return;
  }
  // The gateway ended the session on its own (e.g. it lost our state): whatever was outstanding fails.
  if (inflight_) {
    fail_inflight("the gateway sent DISCONNECT");
    inflight_.reset();
  }
  state_ = State::disconnected;
  Event e{.kind = EventKind::disconnected};
  e.unsolicited = true;
  emit(std::move(e));
}

}  // namespace mqttsn::sim
