#include "bridge/outbound_queue.hpp"

#include <algorithm>
#include <utility>

namespace mqttsn::bridge {

bool OutboundQueue::has_room_for(std::size_t message_bytes) const {
  return items_.size() < max_messages_ && bytes_ + message_bytes <= max_bytes_;
}

bool OutboundQueue::push_back(OutboundMessage&& m) {
  if (!has_room_for(m.bytes())) return false;
  bytes_ += m.bytes();
  items_.push_back(std::move(m));
  return true;
}

void OutboundQueue::requeue(OutboundMessage&& m) {
  bytes_ += m.bytes();
  auto pos = std::upper_bound(items_.begin(), items_.end(), m.seq,
                              [](std::uint64_t seq, const OutboundMessage& e) { return seq < e.seq; });
  items_.insert(pos, std::move(m));
}

bool OutboundQueue::drop_oldest_qos0() {
  auto it = std::find_if(items_.begin(), items_.end(),
                         [](const OutboundMessage& m) { return m.qos == 0 && !m.internal; });
  if (it == items_.end()) return false;
  bytes_ -= it->bytes();
  items_.erase(it);
  return true;
}

void OutboundQueue::push_front(OutboundMessage&& m) {
  bytes_ += m.bytes();
  items_.push_front(std::move(m));
}

OutboundMessage OutboundQueue::pop_front() {
  OutboundMessage m = std::move(items_.front());
  items_.pop_front();
  bytes_ -= m.bytes();
  return m;
}

std::deque<OutboundMessage> OutboundQueue::take_all() {
  bytes_ = 0;
  return std::exchange(items_, {});
}

}  // namespace mqttsn::bridge
