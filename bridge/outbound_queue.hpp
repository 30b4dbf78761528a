#pragma once
// Messages waiting to be handed to Paho, oldest first. While the broker is away this is the bounded
// offline queue; while connected it holds what does not fit into the send window yet, so that new
// publishes always go behind older ones. Entries taken back from flight (connection lost) are put
// back in their original order, ahead of everything newer: the queue stays sorted by `seq`.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "gateway/core/outputs.hpp"

namespace mqttsn::bridge {

struct OutboundMessage {
  std::uint64_t seq = 0;  // global send order
  PublishId id = 0;       // the requester's name for it (0: no result wanted, e.g. presence)
  std::int64_t tag = 0;   // the app's durable name for it (store row), 0: none
  std::string topic;      // full upstream topic (mount point applied)
  std::vector<std::uint8_t> payload;
  int qos = 0;  // MQTT QoS after translation (0..2)
  bool retain = false;
  bool kept_above = false;       // the stage above keeps and bounds it (PublishRequest::kept_above)
  bool answered = false;         // `kept` was answered when it was queued: no result later
  bool internal = false;         // the bridge's own presence message: not requeued after a loss
  std::uint64_t connection = 0;  // which connection (Bridge counters' connects) it was sent on
  std::uint64_t sent_at = 0;     // loop time (ms) it went to the broker, or the connection resumed

  std::size_t bytes() const { return topic.size() + payload.size(); }
};

class OutboundQueue {
 public:
  OutboundQueue(std::size_t max_messages, std::size_t max_bytes)
      : max_messages_(max_messages), max_bytes_(max_bytes) {}

  // Appends unless the bounds would be exceeded; false means "congested", nothing kept.
  bool push_back(OutboundMessage&& m);
  // Puts a message taken back from flight into its place by `seq`. Never refused: these messages
  // were already promised, so they may push the queue over its bounds for a while.
  void requeue(OutboundMessage&& m);
  OutboundMessage pop_front();
  // Puts back the message just popped (Paho refused it for now). Never refused.
  void push_front(OutboundMessage&& m);
  // Removes the oldest QoS 0 message (not the bridge's own); false when there is none.
  bool drop_oldest_qos0();

  const OutboundMessage& front() const { return items_.front(); }
  bool empty() const { return items_.empty(); }
  std::size_t size() const { return items_.size(); }
  std::size_t bytes() const { return bytes_; }
  bool has_room_for(std::size_t message_bytes) const;
  // Empties the queue, returning its content (shutdown).
  std::deque<OutboundMessage> take_all();

 private:
  std::deque<OutboundMessage> items_;
  std::size_t bytes_ = 0;
  std::size_t max_messages_;
  std::size_t max_bytes_;
};

}  // namespace mqttsn::bridge
