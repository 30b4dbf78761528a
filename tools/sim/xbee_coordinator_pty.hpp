#pragma once
// The simulated XBee coordinator on a pseudo-terminal: the gateway opens the slave side as if it
// were the radio's serial port; this side (the master) speaks the XbeeCoordinator's API frames.
// One uv_poll handle on the master fd, non-blocking reads and writes, a bounded write backlog.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <uv.h>

#include "tools/sim/node_transport.hpp"
#include "tools/sim/xbee_coordinator.hpp"

namespace mqttsn::sim {

class XbeeCoordinatorPty final : public NodeTransport {
 public:
  static constexpr std::size_t kMaxBacklog = 1 << 20;  // bytes waiting for the gateway to read

  XbeeCoordinatorPty(uv_loop_t* loop, CoordinatorConfig cfg, std::vector<XbeeNodeAddress> nodes);
  ~XbeeCoordinatorPty() override;
  XbeeCoordinatorPty(const XbeeCoordinatorPty&) = delete;
  XbeeCoordinatorPty& operator=(const XbeeCoordinatorPty&) = delete;

  // Creates the pty pair (raw mode, 8N1) and starts polling. With a non-empty `link_path`, a
  // symlink there points to the slave device (an existing file or link is replaced); close()
  // removes it. Returns false with `error` set on failure.
  bool open(const std::string& link_path, std::string& error);
  const std::string& device_path() const { return slave_path_; }  // what the gateway opens
  const std::string& link_path() const { return link_path_; }

  void set_receiver(Receiver r) override { receiver_ = std::move(r); }
  void send(std::size_t node, const Datagram& d) override;
  void close() override;

  // Called after each chunk from the gateway that held at least one good frame (e.g. to start the
  // nodes once the gateway has opened the port and queried the radio).
  void set_on_host_frames(std::function<void()> f) { on_host_frames_ = std::move(f); }
  // Bytes written by the host, before decoding (for -v traces).
  void set_on_host_bytes(std::function<void(std::span<const std::uint8_t>)> f) {
    on_host_bytes_ = std::move(f);
  }

  XbeeCoordinator& coordinator() { return coord_; }
  std::uint64_t backlog_drops() const { return backlog_drops_; }
  int master_fd() const { return master_; }

 private:
  static void on_poll(uv_poll_t* h, int status, int events);
  void read_available();
  void flush();
  void update_poll();

  uv_loop_t* loop_;
  XbeeCoordinator coord_;
  int master_ = -1;
  int slave_keep_ = -1;  // held open so the master never sees a hang-up while the gateway is away
  std::string slave_path_;
  std::string link_path_;
  uv_poll_t* poll_ = nullptr;
  bool want_write_ = false;
  std::vector<std::uint8_t> backlog_;
  std::uint64_t backlog_drops_ = 0;
  Receiver receiver_;
  std::function<void()> on_host_frames_;
  std::function<void(std::span<const std::uint8_t>)> on_host_bytes_;
};

}  // namespace mqttsn::sim
