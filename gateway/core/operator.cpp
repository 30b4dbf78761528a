// What an operator may do to a node from the status socket or the broker-side requests: disconnect
// it, and empty its downlink buffer. Both go through the same steps as the protocol's own flows, so
// the store, the presence topics and the invariants see an ordinary change.
#include "gateway.hpp"
#include "log.hpp"

namespace mqttsn {

bool Gateway::disconnect_client(std::string_view client_id, Millis now) {
  Session* s = sessions_.find_by_client_id(client_id);
  if (!s || !(s->connected() || s->state == ClientState::connecting)) return false;
  MQTTSN_LOG(notice, "client %s disconnected by the operator", s->client_id.c_str());
  counters_.inc(Counter::operator_disconnects);
  // The node hears the gateway's DISCONNECT (spec 6.14): it connects again when it wants to. Its
  // will is not published: nothing went wrong with the node.
  send(*s, Disconnect{});
  s->will.reset();
  s->stage = ConnectStage::none;
  note_change(*s);
  if (s->clean_session) {
    destroy_session(*s);
    return true;
  }
  set_state(*s, ClientState::disconnected);
  s->away_since = now;
  drop_delivery_state(*s);
  reschedule(*s);  // session_expiry
  return true;
}

std::optional<std::size_t> Gateway::clear_buffer(std::string_view client_id) {
  Session* s = sessions_.find_by_client_id(client_id);
  if (!s) return std::nullopt;
  if (!s->outbox) return 0;
  Outbox& ob = *s->outbox;
  const std::size_t n = ob.queue.size();
  for (const auto& m : ob.queue) ob.let_go(m);
  ob.queue.clear();
  counters_.inc(Counter::dropped_by_operator, n);
  if (n > 0) {
    MQTTSN_LOG(notice, "downlink buffer of %s cleared by the operator (%zu messages)", s->client_id.c_str(),
               n);
    end_buffer_full(*s);
    note_downlink_change(*s);
  }
  release_outbox_if_empty(*s);
  return n;
}

}  // namespace mqttsn
