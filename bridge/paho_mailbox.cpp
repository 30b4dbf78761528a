#include "bridge/paho_mailbox.hpp"

#include <utility>

namespace mqttsn::bridge::detail {

Mailbox::Mailbox(uv_loop_t* loop, void* owner, uv_async_cb on_wake) : async_(new uv_async_t{}) {
  uv_async_init(loop, async_, on_wake);
  async_->data = owner;
}

Mailbox::~Mailbox() {
  close();
}

void Mailbox::post(PahoEvent&& e) {
  std::lock_guard lock(mutex_);
  if (async_ == nullptr) return;
  bool was_empty = events_.empty();
  events_.push_back(std::move(e));
  // One wake-up per batch: the loop takes everything queued when it runs.
  if (was_empty) uv_async_send(async_);
}

std::vector<PahoEvent> Mailbox::take() {
  std::lock_guard lock(mutex_);
  return std::exchange(events_, {});
}

void Mailbox::close() {
  uv_async_t* handle = nullptr;
  {
    std::lock_guard lock(mutex_);
    handle = std::exchange(async_, nullptr);
    events_.clear();
  }
  if (handle != nullptr && !uv_is_closing(reinterpret_cast<uv_handle_t*>(handle))) {
    // The handle outlives the mailbox until the loop runs its close callback.
    uv_close(reinterpret_cast<uv_handle_t*>(handle),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_async_t*>(h); });
  }
}

}  // namespace mqttsn::bridge::detail
