#pragma once
// The lines waiting for one WebSocket: bounded in bytes, so a browser that reads slowly (or a tab in
// the background) costs the companion at most this much; what does not fit is dropped and counted.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>

namespace mqttsn::web {

class BoundedQueue {
 public:
  explicit BoundedQueue(std::size_t max_bytes) : max_bytes_(max_bytes) {}

  // False (and counted) when the line would take the queue over its bound.
  bool push(std::string line) {
    if (bytes_ + line.size() > max_bytes_) {
      ++dropped_;
      return false;
    }
    bytes_ += line.size();
    lines_.push_back(std::move(line));
    return true;
  }
  bool empty() const { return lines_.empty(); }
  std::string pop() {
    std::string line = std::move(lines_.front());
    lines_.pop_front();
    bytes_ -= line.size();
    return line;
  }
  std::size_t bytes() const { return bytes_; }
  std::size_t size() const { return lines_.size(); }
  std::uint64_t dropped() const { return dropped_; }

 private:
  std::size_t max_bytes_;
  std::size_t bytes_ = 0;
  std::uint64_t dropped_ = 0;
  std::deque<std::string> lines_;
};

}  // namespace mqttsn::web
