#pragma once
// bridge::DurableRecords over the store's upstream-records file. When Paho notes a delivery it also
// lists the row for the loop (take()) and wakes the loop, since a QoS 2 exchange resumed
// after a restart completes without any callback the loop would hear.
// Called from Paho's threads: the list and the wake-up are all it touches of the loop's world,
// under a lock, so that close() (loop thread) and a late Paho callback never meet on a closed handle.
#include <uv.h>

#include <memory>
#include <mutex>

#include "bridge/durable_records.hpp"
#include "gateway/store/upstream_records.hpp"

namespace mqttsn::app {

class DurableUpstream final : public bridge::DurableRecords {
 public:
  DurableUpstream(uv_loop_t* loop, std::unique_ptr<store::UpstreamRecords> records);
  ~DurableUpstream() override;
  void close();  // before the loop ends; later deliveries are still stored, just not announced

  store::UpstreamRecords& records() { return *records_; }
  // Rows noted delivered, and rows whose exchange Paho gave up, since the last call (loop thread,
  // once per turn: one lock). Both vectors are cleared first; their capacity is reused.
  void take(std::vector<bridge::MessageTag>& delivered, std::vector<bridge::MessageTag>& abandoned);

  bool put(std::string_view key, std::span<const std::uint8_t> value, bridge::MessageTag tag) override;
  bool remove(std::string_view key, bridge::MessageTag delivered) override;
  std::optional<std::vector<std::uint8_t>> get(std::string_view key) override;
  std::vector<Record> load() override;
  bool clear() override;
  std::int64_t add_to_inbox(std::string_view topic, std::span<const std::uint8_t> payload, int qos,
                            bool retain, std::string_view record_key, bool mark_taken) override {
    using E = store::UpstreamRecords::ExchangeRecord;
    return records_->add_to_inbox(topic, payload, qos, retain, record_key,
                                  mark_taken ? E::mark_taken : E::remove);
  }
  void abandoned(bridge::MessageTag tag) override;

 private:
  std::unique_ptr<store::UpstreamRecords> records_;
  std::mutex mutex_;
  std::vector<bridge::MessageTag> delivered_;
  std::vector<bridge::MessageTag> abandoned_;
  uv_async_t* wake_ = nullptr;  // owned until close(); freed in its close callback
};

}  // namespace mqttsn::app
