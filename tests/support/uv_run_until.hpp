#pragma once
// Runs a libuv loop until a condition holds or a timeout passes: how integration tests wait for
// asynchronous results without sleeping. The condition is checked after every loop iteration and at
// least every 5 ms.
#include <uv.h>

#include <chrono>
#include <functional>

namespace mqttsn::test {

bool run_until(uv_loop_t* loop, const std::function<bool()>& done,
               std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

// Runs the loop for a fixed time (for "nothing more happens" checks only).
void run_for(uv_loop_t* loop, std::chrono::milliseconds duration);

// A loop owned by a test: uv_loop_init in the constructor; the destructor closes every handle still
// open, runs the loop until they are closed, and uv_loop_close()s it.
class TestLoop {
 public:
  TestLoop();
  ~TestLoop();
  TestLoop(const TestLoop&) = delete;
  TestLoop& operator=(const TestLoop&) = delete;
  uv_loop_t* get() { return &loop_; }
  operator uv_loop_t*() { return &loop_; }

 private:
  uv_loop_t loop_{};
};

}  // namespace mqttsn::test
