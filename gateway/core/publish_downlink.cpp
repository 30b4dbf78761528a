// Broker -> client delivery (spec 4.4-4.7): match the subscription tree, queue per client at
// min(granted, message) QoS, pick the topic id the client knows (predefined, registered, short
// name) or REGISTER one first, send within the in-flight limit, retransmit after T_RETRY with DUP,
// complete on PUBACK / PUBREC-PUBREL-PUBCOMP.
//
// Ordering: one FIFO per client. A message waits while an earlier one on the same topic waits
// (for a REGACK or an in-flight slot), so messages on one topic reach the client in the order the
// broker sent them; other topics may pass it.
#include <algorithm>

#include "gateway.hpp"
#include "log.hpp"

namespace mqttsn {

namespace {
QoS min_qos(QoS a, QoS b) {
  return a < b ? a : b;
}

struct DownlinkTopic {
  enum class State : std::uint8_t { ready, pending_register, needs_register } state;
  TopicIdType type = TopicIdType::normal;
  std::uint16_t id = 0;
};
}  // namespace

DownlinkReceipt Gateway::on_upstream_message(std::string_view topic, Bytes payload, QoS qos, bool retain,
                                             Millis now) {
  // A per-node gateway's subscriptions are on the nodes' own connections (on_node_message).
  if (options_.upstream_per_node) return {};
  return deliver(topic, payload, qos, retain, now, nullptr);
}

DownlinkReceipt Gateway::deliver(std::string_view topic, Bytes payload, QoS qos, bool retain, Millis now,
                                 const Session* only) {
  match_scratch_.clear();
  // What the shared connection brings is for the subscriptions held there; what a node's own
  // connection brings is for that node alone. In mixed mode each message is thus delivered once.
  tree_.match(topic, [&](const Subscriber& sub) {
    if (only ? sub.session == only->slot : !sub.own_connection)
      match_scratch_.emplace_back(sub.session, sub.qos);
  });
  if (match_scratch_.empty()) return {};
  // A client matching several of its filters gets the message once, at the highest of its grants.
  std::sort(match_scratch_.begin(), match_scratch_.end(), [](const auto& a, const auto& b) {
    return a.first < b.first || (a.first == b.first && a.second > b.second);
  });
  match_scratch_.erase(std::unique(match_scratch_.begin(), match_scratch_.end(),
                                   [](const auto& a, const auto& b) { return a.first == b.first; }),
                       match_scratch_.end());
  TopicRef t = topics_.intern(topic);
  auto shared = std::make_shared<const std::vector<std::uint8_t>>(payload.begin(), payload.end());
  QoS message_qos = qos < 0 ? QoS{0} : min_qos(qos, 2);
  DownlinkReceipt receipt;
  receipt.held = shared;
  for (const auto& [slot, granted] : match_scratch_) {
    Session* s = sessions_.in_slot(slot);
    if (!s) continue;
    // A CleanSession=0 client that is away keeps receiving into its buffer (MQTT's persistent
    // session semantics); it gets the messages when it connects again.
    if (!s->connected() && s->state != ClientState::connecting && s->clean_session) {
      counters_.inc(Counter::dropped_offline);
      continue;
    }
    if (std::find(s->rejected_topics.begin(), s->rejected_topics.end(), t) != s->rejected_topics.end())
      continue;
    enqueue(*s, t, shared, min_qos(granted, message_qos), retain);
    pump(*s, now);
    if (s->state != ClientState::active && s->state != ClientState::awake) receipt.waits_for_absent = true;
  }
  return receipt;
}

void Gateway::enqueue(Session& s, const TopicRef& topic, const SharedPayload& payload, QoS qos, bool retain,
                      std::uint64_t seq) {
  if (qos == 2)
    note_change(s);
  else
    note_downlink_change(s);
  if (!s.outbox) s.outbox = std::make_unique<Outbox>(buffered_bytes_);
  Outbox& ob = *s.outbox;
  OutboundPublish m;
  m.topic = topic;
  m.payload = payload;
  m.qos = qos;
  m.retain = retain;
  m.seq = seq != 0 ? seq : next_downlink_seq_;
  next_downlink_seq_ = std::max(next_downlink_seq_, m.seq + 1);

  // The bounds. A client with nothing buffered always takes one message (else a message larger than
  // the octet bound could never reach even an awake node). The total bounds what sleeping and away
  // nodes hold: an awake node's queue drains in milliseconds and is bounded by its own limits.
  const GatewayLimits& lim = options_.limits;
  const std::size_t size = held_bytes(m);
  const bool awake = s.state == ClientState::active || s.state == ClientState::awake;
  auto bound_reached = [&]() -> const char* {
    if (ob.queue.size() >= std::max<std::size_t>(1, lim.buffered_per_client)) return "messages per client";
    if (ob.bytes == 0) return nullptr;
    if (ob.bytes + size > lim.buffered_bytes_per_client) return "bytes per client";
    if (!awake && buffered_bytes_ + size > lim.buffered_bytes_total) return "bytes in total";
    return nullptr;
  };
  // The oldest QoS 0 messages make room first: they were allowed to be lost.
  const char* bound = bound_reached();
  while (bound) {
    auto oldest_qos0 =
        std::find_if(ob.queue.begin(), ob.queue.end(), [](const OutboundPublish& q) { return q.qos == 0; });
    if (oldest_qos0 == ob.queue.end()) break;
    counters_.inc(Counter::buffer_dropped_qos0);
    ob.let_go(*oldest_qos0);
    ob.queue.erase(oldest_qos0);
    bound = bound_reached();
  }
  if (bound) {
    if (qos == 0) {
      counters_.inc(Counter::buffer_dropped_qos0);
    } else {
      counters_.inc(Counter::buffer_full);
      ++s.buffer_refused;
      // Once per episode: a node asleep behind a busy topic would otherwise log every message.
      if (!s.buffer_full)
        MQTTSN_LOG(warning,
                   "downlink buffer of %s full (%zu messages, %zu bytes: %s bound): QoS %d messages for it "
                   "are refused until it drains, first on %.*s",
                   s.client_id.c_str(), ob.queue.size() + ob.in_flight.size(), ob.bytes, bound, qos,
                   static_cast<int>(topic.view().size()), topic.view().data());
      s.buffer_full = true;
    }
    release_outbox_if_empty(s);
    return;
  }
  end_buffer_full(s);
  ob.hold(m);
  ob.queue.push_back(std::move(m));
}

void Gateway::end_buffer_full(Session& s) {
  if (!s.buffer_full) return;
  MQTTSN_LOG(notice,
             "downlink buffer of %s takes messages again (%u QoS 1/2 refused since its session began)",
             s.client_id.c_str(), s.buffer_refused);
  s.buffer_full = false;
}

static DownlinkTopic downlink_topic(const Session& s, const TopicRef& t,
                                    std::optional<std::uint16_t> predefined) {
  using S = DownlinkTopic::State;
  if (predefined) return {S::ready, TopicIdType::predefined, *predefined};
  for (const auto& m : s.registry.entries())
    if (m.topic == t) return {m.confirmed ? S::ready : S::pending_register, TopicIdType::normal, m.id};
  if (t.view().size() == 2) {
    auto v = t.view();
    return {S::ready, TopicIdType::short_name, short_topic_id(v[0], v[1])};
  }
  return {S::needs_register, TopicIdType::normal, 0};
}

void Gateway::pump(Session& s, Millis now) {
  if (s.state != ClientState::active && s.state != ClientState::awake) return;
  if (s.outbox) {
    // Sending moves messages from the queue to in flight: the same messages stay kept either way.
    note_downlink_change(s);
    Outbox& ob = *s.outbox;
    auto& blocked = blocked_scratch_;
    blocked.clear();
    auto is_blocked = [&](const TopicRef& t) {
      return std::find(blocked.begin(), blocked.end(), t.identity()) != blocked.end();
    };
    std::size_t limit = options_.limits.in_flight_per_client;
    for (std::size_t i = 0; i < ob.queue.size();) {
      OutboundPublish& m = ob.queue[i];
      if (is_blocked(m.topic)) {
        ++i;
        continue;
      }
      DownlinkTopic dt = downlink_topic(s, m.topic, predefined_id(s, m.topic.view()));
      if (dt.state != DownlinkTopic::State::ready) {
        if (dt.state == DownlinkTopic::State::needs_register && s.in_flight() < limit &&
            !start_register(s, m.topic, now)) {
          // No id can be given (registry full or name too long for the link): undeliverable.
          TopicRef t = m.topic;
          drop_queued_topic(s, t, Counter::topic_id_limit);
          continue;
        }
        blocked.push_back(m.topic.identity());
        ++i;
        continue;
      }
      if (m.qos > 0 && s.in_flight() >= limit) {
        blocked.push_back(m.topic.identity());
        ++i;
        continue;
      }
      Publish p{false, m.qos, m.retain, dt.type, dt.id, 0, Bytes(m.payload->data(), m.payload->size())};
      if (m.qos > 0) p.msg_id = s.take_msg_id();
      if (wire_size(s, p) > downlink_limit(s)) {
        counters_.inc(Counter::too_large_for_link);
        ob.let_go(m);
        ob.queue.erase(ob.queue.begin() + static_cast<std::ptrdiff_t>(i));
        continue;
      }
      send(s, p);
      counters_.inc(Counter::publishes_down);
      ++s.msgs_down;
      if (m.qos > 0) {
        m.msg_id = p.msg_id;
        m.topic_id = dt.id;
        m.topic_id_type = dt.type;
        m.deadline = now + options_.retry_interval;
        ob.in_flight.push_back(std::move(m));
      } else {
        ob.let_go(m);
      }
      ob.queue.erase(ob.queue.begin() + static_cast<std::ptrdiff_t>(i));
    }
    if (ob.queue.empty()) end_buffer_full(s);
    release_outbox_if_empty(s);
  }
  finish_wake_if_done(s, now);
  reschedule(s);
}

void Gateway::resend_in_flight(Session& s, Millis now) {
  if (!s.outbox) return;
  for (auto& r : s.outbox->registering) {
    r.deadline = now + options_.retry_interval;
    send(s, Register{r.topic_id, r.msg_id, r.topic.view()});
  }
  for (auto& m : s.outbox->in_flight) {
    m.deadline = now + options_.retry_interval;
    if (m.released)
      send(s, PubRel{m.msg_id});
    else
      send(s, Publish{true, m.qos, m.retain, m.topic_id_type, m.topic_id, m.msg_id,
                      Bytes(m.payload->data(), m.payload->size())});
  }
}

void Gateway::drop_queued_topic(Session& s, const TopicRef& topic, Counter reason) {
  if (!s.outbox) return;
  Outbox& ob = *s.outbox;
  auto n = std::erase_if(ob.queue, [&](const OutboundPublish& m) {
    if (!(m.topic == topic)) return false;
    ob.let_go(m);
    return true;
  });
  counters_.inc(reason, n);
}

void Gateway::handle_puback(Session& s, const PubAck& a, Millis now) {
  if (a.rc == ReturnCode::invalid_topic_id) {
    // Spec 4.4: the client does not know the id we used: forget it, the next message registers again.
    if (const TopicMapping* m = s.registry.find_id(a.topic_id); m && m->confirmed)
      s.registry.erase(a.topic_id);
  }
  if (s.outbox) {
    auto& fl = s.outbox->in_flight;
    auto it = std::find_if(fl.begin(), fl.end(), [&](const OutboundPublish& m) {
      return m.msg_id == a.msg_id && !m.released && (m.qos == 1 || a.rc != ReturnCode::accepted);
    });
    if (it != fl.end()) {
      s.outbox->let_go(*it);
      fl.erase(it);
      // pump() sends nothing to a node that is not awake (a late PUBACK after it went to sleep).
      release_outbox_if_empty(s);
      pump(s, now);
      return;
    }
  }
  if (a.rc == ReturnCode::accepted) counters_.inc(Counter::stale_client_ack);
}

void Gateway::handle_pubrec(Session& s, const PubRec& r, Millis now) {
  if (s.outbox) {
    for (auto& m : s.outbox->in_flight) {
      if (m.msg_id != r.msg_id || m.qos != 2) continue;
      if (!m.released) {
        m.released = true;
        m.retries = 0;
        m.deadline = now + options_.retry_interval;
        s.outbox->let_go(m);
        m.payload.reset();  // the broker's data is delivered; only the PUBREL/PUBCOMP remain
      }
      send(s, PubRel{r.msg_id});
      reschedule(s);
      return;
    }
  }
  counters_.inc(Counter::stale_client_ack);
}

void Gateway::handle_pubcomp(Session& s, const PubComp& c, Millis now) {
  if (s.outbox) {
    auto& fl = s.outbox->in_flight;
    auto it = std::find_if(fl.begin(), fl.end(),
                           [&](const OutboundPublish& m) { return m.msg_id == c.msg_id && m.released; });
    if (it != fl.end()) {
      fl.erase(it);
      release_outbox_if_empty(s);
      pump(s, now);
      return;
    }
  }
  counters_.inc(Counter::stale_client_ack);
}

}  // namespace mqttsn
