#pragma once
// How the simulator's nodes reach the gateway: the XBee coordinator on a pseudo-terminal, or one UDP
// socket per node. Both live on the caller's libuv loop; received datagrams come back through the
// receiver callback on the loop thread.
#include <cstddef>
#include <functional>

#include "gateway/core/messages.hpp"
#include "tools/sim/node_client.hpp"

namespace mqttsn::sim {

class NodeTransport {
 public:
  // `datagram` is valid during the call only.
  using Receiver = std::function<void(std::size_t node, Bytes datagram)>;

  virtual ~NodeTransport() = default;
  virtual void set_receiver(Receiver r) = 0;
  virtual void send(std::size_t node, const Datagram& d) = 0;
  // Releases the handles; the loop must run once more for their close callbacks.
  virtual void close() = 0;
};

}  // namespace mqttsn::sim
