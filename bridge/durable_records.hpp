#pragma once
// Where the bridge keeps the MQTT client's records that must survive a crash (the app backs it
// with a SQLite file; see gateway/store/upstream_records.hpp). Called from Paho's threads and from
// the loop thread: implementations are thread-safe.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mqttsn::bridge {

// A tag is the app's name for an uplink message (its store row); 0 means none.
using MessageTag = std::int64_t;

class DurableRecords {
 public:
  struct Record {
    std::string key;
    std::vector<std::uint8_t> value;
    MessageTag tag = 0;
  };

  virtual ~DurableRecords() = default;
  // On disk when it returns true. A replacement with tag 0 keeps the record's tag.
  virtual bool put(std::string_view key, std::span<const std::uint8_t> value, MessageTag tag) = 0;
  // Removes `key`; with delivered != 0, notes in the same transaction that the broker completed
  // the exchange of that message (the app then forgets it).
  virtual bool remove(std::string_view key, MessageTag delivered) = 0;
  virtual std::optional<std::vector<std::uint8_t>> get(std::string_view key) = 0;
  virtual std::vector<Record> load() = 0;
  virtual bool clear() = 0;
  // A message from the broker that a kept session may need: on disk when this returns its inbox id
  // (0: not written). `record_key`, when not empty, names a record changed in the same transaction:
  // removed, or (mark_taken) kept with tag -1, "its message is in the inbox already".
  virtual std::int64_t add_to_inbox(std::string_view topic, std::span<const std::uint8_t> payload, int qos,
                                    bool retain, std::string_view record_key, bool mark_taken) = 0;
  // Paho dropped the exchange of `tag` without completing it (the broker had lost the session, so
  // Paho cleaned its own): nobody will send that message unless the app does. Memory only: after
  // a crash the record is gone and the message is published again from the store anyway.
  virtual void abandoned(MessageTag tag) = 0;
};

}  // namespace mqttsn::bridge
