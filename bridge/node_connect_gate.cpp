#include "bridge/node_connect_gate.hpp"

#include <algorithm>
#include <cmath>

namespace mqttsn::bridge {

void NodeConnectGate::refill(Millis now) {
  if (!started_ || now < last_) {
    started_ = true;
    last_ = now;
    return;
  }
  if (options_.rate > 0)
    tokens_ =
        std::min(burst(), tokens_ + static_cast<double>((now - last_).count()) * options_.rate / 1000.0);
  last_ = now;
}

NodeConnectGate::Verdict NodeConnectGate::offer(const NodeConnectRequest& request, std::size_t open,
                                                Millis now) {
  auto waiting = std::find_if(queue_.begin(), queue_.end(),
                              [&](const NodeConnectRequest& r) { return r.client_id == request.client_id; });
  if (waiting != queue_.end()) {
    *waiting = request;  // the latest CONNECT, in the place of the first
    return Verdict::queued;
  }
  if (options_.max_connections != 0 && open + queue_.size() >= options_.max_connections)
    return Verdict::refused;
  if (options_.rate <= 0) return Verdict::open_now;
  refill(now);
  if (queue_.empty() && tokens_ >= 1) {
    tokens_ -= 1;
    return Verdict::open_now;
  }
  queue_.push_back(request);
  return Verdict::queued;
}

std::vector<NodeConnectRequest> NodeConnectGate::take_due(Millis now) {
  std::vector<NodeConnectRequest> due;
  refill(now);
  while (!queue_.empty() && tokens_ >= 1) {
    tokens_ -= 1;
    due.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  return due;
}

bool NodeConnectGate::take_background(std::size_t open, bool new_connection, Millis now) {
  if (!queue_.empty()) return false;
  if (new_connection && options_.max_connections != 0 && open >= options_.max_connections) return false;
  if (options_.rate <= 0) return true;
  refill(now);
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

std::optional<Millis> NodeConnectGate::next_due() const {
  if (queue_.empty()) return std::nullopt;
  if (tokens_ >= 1) return last_;
  return last_ + Millis{static_cast<Millis::rep>(std::ceil((1 - tokens_) * 1000.0 / options_.rate))};
}

bool NodeConnectGate::cancel(std::string_view client_id) {
  const auto before = queue_.size();
  std::erase_if(queue_, [&](const NodeConnectRequest& r) { return r.client_id == client_id; });
  return queue_.size() != before;
}

}  // namespace mqttsn::bridge
