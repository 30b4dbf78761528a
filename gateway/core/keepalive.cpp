// Time: keep-alive and sleep supervision (1.5x by default, spec 4.8), the half-open CONNECT
// timeout, T_RETRY/N_RETRY retransmission of GW -> client PUBLISH/PUBREL/REGISTER, ADVERTISE, and
// the expiry of kept sessions whose node went away (GatewayOptions::session_expiry).
// One deadline per session, the earliest thing due for it (see DeadlineScheduler).
#include <algorithm>

#include "gateway.hpp"
#include "log.hpp"

namespace mqttsn {

std::optional<Millis> Gateway::session_deadline(const Session& s) const {
  std::optional<Millis> d;
  auto earliest = [&d](Millis t) {
    if (!d || t < *d) d = t;
  };
  switch (s.state) {
    case ClientState::connecting:
      earliest(s.last_seen + options_.retry_interval * std::max(1u, options_.max_retries));
      break;
    case ClientState::active:
      if (s.keep_alive_s > 0) earliest(s.last_seen + scaled(s.keep_alive_s));
      break;
    case ClientState::asleep:
    case ClientState::awake:
      if (s.sleep_s > 0) earliest(s.last_seen + scaled(s.sleep_s));
      break;
    case ClientState::lost:
    case ClientState::disconnected:
      // Only a kept session stays in these states. A sleeping node gets here when its sleep timer
      // runs out, so its expiry counts from the end of its announced sleep.
      if (s.clean_session || options_.session_expiry <= Millis{0}) return std::nullopt;
      return s.away_since + options_.session_expiry;
  }
  // Retransmissions run only while the client listens; a sleeping client's in-flight messages go
  // again when it wakes (resend_in_flight).
  if (s.outbox && (s.state == ClientState::active || s.state == ClientState::awake)) {
    for (const auto& m : s.outbox->in_flight) earliest(m.deadline);
    for (const auto& r : s.outbox->registering) earliest(r.deadline);
  }
  return d;
}

void Gateway::reschedule(Session& s) {
  std::optional<Millis> d = session_deadline(s);
  if (!d) {
    deadlines_.cancel(deadline_owner(s));
    return;
  }
  deadlines_.schedule(deadline_owner(s), *d);
  // A few stale entries per session slot may wait in the heap; beyond that it is swept.
  deadlines_.compact_if_over(64 + 4 * sessions_.slot_count());
}

std::optional<Millis> Gateway::next_deadline() const {
  std::optional<Millis> d = advertise_due_;
  if (std::optional<Millis> session = deadlines_.next(); session && (!d || *session < *d)) d = session;
  return d;
}

void Gateway::on_tick(Millis now) {
  if (advertise_due_ && *advertise_due_ <= now) send_advertise(now);
  while (std::optional<DeadlineScheduler::Owner> due = deadlines_.pop_due(now)) {
    Session* s = sessions_.find_by_slot(due->slot, due->serial);
    if (!s) continue;
    service_session(*s, now);
    if (Session* still = sessions_.find_by_slot(due->slot, due->serial)) reschedule(*still);
  }
}

void Gateway::service_session(Session& s, Millis now) {
  if (s.state == ClientState::lost || s.state == ClientState::disconnected) {
    if (std::optional<Millis> expiry = session_deadline(s); expiry && *expiry <= now) expire_session(s, now);
    return;
  }
  note_change(s);
  std::optional<Millis> supervision;
  switch (s.state) {
    case ClientState::connecting:
      supervision = s.last_seen + options_.retry_interval * std::max(1u, options_.max_retries);
      break;
    case ClientState::active:
      if (s.keep_alive_s > 0) supervision = s.last_seen + scaled(s.keep_alive_s);
      break;
    case ClientState::asleep:
    case ClientState::awake:
      if (s.sleep_s > 0) supervision = s.last_seen + scaled(s.sleep_s);
      break;
    default:
      return;
  }
  if (supervision && *supervision <= now) {
    if (s.state == ClientState::connecting) {
      counters_.inc(Counter::connect_timeouts);
      // A half-open will exchange: no will was agreed, so none is published.
      s.will.reset();
      set_state(s, ClientState::disconnected);
      s.away_since = now;
      drop_delivery_state(s);
      if (s.clean_session) destroy_session(s);
      return;
    }
    MQTTSN_LOG(notice, "client %s lost (%s timer)", s.client_id.c_str(),
               s.state == ClientState::active ? "keep-alive" : "sleep");
    lose_session(s, s.state == ClientState::active ? Counter::keepalive_timeouts : Counter::sleep_timeouts,
                 now);
    return;
  }
  if (!s.outbox || !(s.state == ClientState::active || s.state == ClientState::awake)) return;
  bool exhausted = false;
  for (auto& r : s.outbox->registering) {
    if (r.deadline > now) continue;
    if (r.retries >= options_.max_retries) {
      exhausted = true;
      break;
    }
    ++r.retries;
    r.deadline = now + options_.retry_interval;
    send(s, Register{r.topic_id, r.msg_id, r.topic.view()});
  }
  if (!exhausted) {
    for (auto& m : s.outbox->in_flight) {
      if (m.deadline > now) continue;
      if (m.retries >= options_.max_retries) {
        exhausted = true;
        break;
      }
      ++m.retries;
      m.deadline = now + options_.retry_interval;
      if (m.released)
        send(s, PubRel{m.msg_id});
      else
        send(s, Publish{true, m.qos, m.retain, m.topic_id_type, m.topic_id, m.msg_id,
                        Bytes(m.payload->data(), m.payload->size())});
    }
  }
  if (exhausted) {
    MQTTSN_LOG(notice, "client %s lost: no answer after %u retries", s.client_id.c_str(),
               options_.max_retries);
    lose_session(s, Counter::retries_exhausted, now);
  }
}

// Keep-alive/sleep timer expired, retries exhausted, or the node replaced: the will is published,
// delivery state dropped; the session itself stays only for CleanSession=0 (subscriptions and topic
// ids survive for its next CONNECT, until session_expiry).
void Gateway::lose_session(Session& s, Counter reason, Millis now) {
  if (!(s.connected() || s.state == ClientState::connecting)) return;
  counters_.inc(reason);
  if (s.state != ClientState::connecting) publish_will(s);
  if (s.clean_session) {
    tell_presence(s, Presence::lost);
    destroy_session(s);
    return;
  }
  set_state(s, ClientState::lost);
  s.away_since = now;
  s.will.reset();
  drop_delivery_state(s);
  reschedule(s);
}

// A kept session whose node stayed away for session_expiry: removed as any other session is (its
// buffer dropped and counted, upstream filters nobody else holds unsubscribed, its row erased from
// the store through the change tracking). Like mosquitto's persistent_client_expiration.
void Gateway::expire_session(Session& s, Millis now) {
  MQTTSN_LOG(notice, "client %s expired: %s for %lld s (session expiry %lld s)", s.client_id.c_str(),
             to_string(s.state), static_cast<long long>((now - s.away_since).count() / 1000),
             static_cast<long long>(options_.session_expiry.count() / 1000));
  counters_.inc(Counter::sessions_expired);
  tell_presence(s, Presence::removed);
  destroy_session(s);
}

void Gateway::on_delivery_failure(const LinkAddress& to, Millis now) {
  counters_.inc(Counter::delivery_failures);
  Session* s = sessions_.find_by_peer(PeerRef{&to, false, {}});
  if (!s || !s->connected()) return;
  // Spec 5.3: a failed unicast counts toward N_RETRY. Consecutive failures beyond it mean the node
  // is gone; any datagram from it resets the count.
  if (++s->delivery_failures > options_.max_retries) lose_session(*s, Counter::retries_exhausted, now);
}

}  // namespace mqttsn
