#pragma once
// A libuv timer owned through a raw pointer, as the links and the serial port keep theirs: created on
// the heap because libuv still uses the handle after uv_close() returns, until its close callback,
// which may run after the owner is gone.
#include <uv.h>

namespace mqttsn::radio {

// Creates and initialises `timer` with `owner` as its data. On failure `timer` stays nullptr and the
// libuv error is returned.
inline int open_timer(uv_loop_t* loop, void* owner, uv_timer_t*& timer) {
  timer = new uv_timer_t;
  if (const int rc = uv_timer_init(loop, timer); rc != 0) {
    delete timer;
    timer = nullptr;
    return rc;
  }
  timer->data = owner;
  return 0;
}

// Stops and closes `timer` (if any) and sets it to nullptr; the close callback frees it. Its data is
// cleared, since the handle may outlive its owner until then.
inline void close_timer(uv_timer_t*& timer) {
  if (timer == nullptr) return;
  uv_timer_stop(timer);
  timer->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(timer),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
  timer = nullptr;
}

}  // namespace mqttsn::radio
