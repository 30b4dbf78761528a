#include "support/uv_run_until.hpp"

namespace mqttsn::test {

bool run_until(uv_loop_t* loop, const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  if (done()) return true;
  // The ticking timer keeps the loop alive and bounds how long one uv_run(ONCE) can block.
  uv_timer_t tick;
  uv_timer_init(loop, &tick);
  uv_timer_start(
      &tick, [](uv_timer_t*) {}, 5, 5);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool ok = false;
  while (true) {
    uv_run(loop, UV_RUN_ONCE);
    if (done()) {
      ok = true;
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&tick), nullptr);
  uv_run(loop, UV_RUN_NOWAIT);  // runs the close callback: `tick` is on this stack frame
  return ok;
}

void run_for(uv_loop_t* loop, std::chrono::milliseconds duration) {
  const auto deadline = std::chrono::steady_clock::now() + duration;
  run_until(
      loop, [&] { return std::chrono::steady_clock::now() >= deadline; }, duration + duration);
}

TestLoop::TestLoop() {
  uv_loop_init(&loop_);
}

TestLoop::~TestLoop() {
  uv_walk(
      &loop_,
      [](uv_handle_t* h, void*) {
        if (!uv_is_closing(h)) uv_close(h, nullptr);
      },
      nullptr);
  uv_run(&loop_, UV_RUN_DEFAULT);
  uv_loop_close(&loop_);
}

}  // namespace mqttsn::test
