#include "gateway/app/durable_upstream.hpp"

#include <utility>

namespace mqttsn::app {

DurableUpstream::DurableUpstream(uv_loop_t* loop, std::unique_ptr<store::UpstreamRecords> records)
    : records_(std::move(records)), wake_(new uv_async_t{}) {
  // Waking the loop is all it takes: the daemon's end of turn collects the deliveries.
  uv_async_init(loop, wake_, [](uv_async_t*) {});
}

DurableUpstream::~DurableUpstream() {
  close();
}

void DurableUpstream::close() {
  std::lock_guard lock(mutex_);
  if (wake_ == nullptr) return;
  uv_close(reinterpret_cast<uv_handle_t*>(std::exchange(wake_, nullptr)),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_async_t*>(h); });
}

void DurableUpstream::take(std::vector<bridge::MessageTag>& delivered,
                           std::vector<bridge::MessageTag>& abandoned) {
  delivered.clear();
  abandoned.clear();
  std::lock_guard lock(mutex_);
  delivered.swap(delivered_);
  abandoned.swap(abandoned_);
}

void DurableUpstream::abandoned(bridge::MessageTag tag) {
  std::lock_guard lock(mutex_);
  abandoned_.push_back(tag);
  if (wake_ != nullptr) uv_async_send(wake_);
}

bool DurableUpstream::put(std::string_view key, std::span<const std::uint8_t> value, bridge::MessageTag tag) {
  return records_->put(key, value, tag);
}

bool DurableUpstream::remove(std::string_view key, bridge::MessageTag delivered) {
  if (!records_->remove(key, delivered)) return false;
  if (delivered != 0) {
    std::lock_guard lock(mutex_);
    delivered_.push_back(delivered);
    if (wake_ != nullptr) uv_async_send(wake_);
  }
  return true;
}

std::optional<std::vector<std::uint8_t>> DurableUpstream::get(std::string_view key) {
  return records_->get(key);
}

std::vector<bridge::DurableRecords::Record> DurableUpstream::load() {
  std::vector<Record> out;
  for (auto& r : records_->load()) out.push_back({std::move(r.key), std::move(r.value), r.row});
  return out;
}

bool DurableUpstream::clear() {
  return records_->clear();
}

}  // namespace mqttsn::app
