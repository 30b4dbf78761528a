#pragma once
// The upstream side of the gateway as the stages of the uplink pipeline see it:
//
//   core --publish(id)--> durable stage --publish(id)--> upstream connection (Paho) --> broker
//   core <--result(id)--- durable stage <--result(id)--- upstream connection
//
// Every stage implements Upstream towards the stage above it and UpstreamEvents towards the stage
// below it, so each can be tested alone with a fake on either side. A stage answers a request only
// on a later call (never from inside publish()), and never calls back into a stage it has passed.
//
// The interface covers what one upstream session does: its state (connect and its result), the
// subscriptions and what the broker granted, publishes and their results, and the orderly close.
// The shared connection (Bridge) serves every node under one broker identity; a connection per node
// is a second implementation of the same interface (requests carry the node's client id for it).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bridge/durable_records.hpp"
#include "bridge/upstream_status.hpp"
#include "gateway/core/messages.hpp"
#include "gateway/core/outputs.hpp"

namespace mqttsn::bridge {

struct PublishRequest {
  PublishId id = 0;  // the requester's name; 0: no result wanted
  std::string_view client_id;
  std::string_view topic;  // as the node named it (the upstream applies the mount point)
  Bytes payload;
  QoS qos = 0;  // MQTT-SN QoS (-1..2): the upstream translates it (bridge/qos_translation.hpp)
  bool retain = false;
  // The message's store row (0: none yet): rides along to the MQTT client's persistence so that a
  // QoS 2 exchange resumed after a crash is known by its row.
  MessageTag tag = 0;
  // The stage above keeps this message until the broker has it and bounds what it keeps: the
  // connection neither refuses it for its own queue bounds nor answers `kept` when it queues it
  // (only `delivered`, or `congested` when it gives up for good).
  bool kept_above = false;
};

// A downlink message the connection wrote to the inbox before the broker was told it arrived (see
// bridge/paho_callbacks.hpp); 0 for one it did not. The durable stage notes it taken once the
// sessions it reached are stored.
using InboxId = std::int64_t;

// What an upstream tells the stage above it. Always on the loop thread.
class UpstreamEvents {
 public:
  virtual ~UpstreamEvents() = default;
  virtual void on_publish_result(PublishId id, PublishResult result) = 0;
  // A downlink message, topic already stripped of the mount point. The receipt tells the connection
  // when the nodes it reached have let go of it (see gateway/core/outputs.hpp).
  virtual DownlinkReceipt on_message(std::string_view topic, Bytes payload, QoS qos, bool retain,
                                     InboxId inbox) = 0;
  // A message handed up earlier by on_message(inbox = 0), written to the inbox since, because the
  // nodes it reached did not acknowledge it in time: the durable stage notes it taken like any other.
  virtual void on_inbox_written(InboxId) {}
  // The result of subscribe(): the granted QoS, or nullopt when the broker refused (SUBACK 0x80).
  virtual void on_suback(std::string_view filter, std::optional<QoS> granted) = 0;
  virtual void on_state(UpstreamState state) = 0;
};

class Upstream {
 public:
  virtual ~Upstream() = default;
  // Starts connecting; false when the options cannot work at all (logged).
  virtual bool start() = 0;
  virtual void publish(const PublishRequest& request) = 0;
  // Once per distinct filter (the core counts references); the result comes through on_suback.
  virtual void subscribe(std::string_view filter, QoS qos) = 0;
  virtual void unsubscribe(std::string_view filter) = 0;
  // The filters kept sessions subscribe to (as the nodes name them): a QoS 1/2 message matching one
  // goes to the inbox before the broker is told it arrived. A connection without an inbox ignores it.
  virtual void set_kept_filters(const std::vector<std::string>& filters) = 0;
  // Orderly close: waits up to `grace` for messages in flight, then calls `done` on the loop.
  virtual void shutdown(Millis grace, std::function<void()> done) = 0;
  virtual bool connected() const = 0;
  virtual UpstreamStatus status() const = 0;
};

}  // namespace mqttsn::bridge
