#pragma once
// The only thing that crosses threads: Paho calls back on its own threads, and those callbacks do
// nothing but post an event here. The mailbox wakes the libuv loop (uv_async_send), and the loop
// takes the events and acts on them.
#include <uv.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <variant>
#include <vector>

namespace mqttsn::bridge::detail {

struct ConnectOk {
  bool session_present = false;
};
struct ConnectFailed {
  int code = 0;  // Paho error code, or the CONNACK return code (1..5)
  std::string message;
};
struct ConnectionLost {
  std::string cause;
};
struct MessageArrived {
  std::string topic;
  std::vector<std::uint8_t> payload;
  int qos = 0;
  bool retained = false;
  std::int64_t inbox_id = 0;  // written to the inbox before the broker was told (0: not)
  std::uint64_t hold = 0;     // the broker waits for the nodes' acknowledgement: ReceiveHold's id
};
// A held message the nodes did not acknowledge in time, now in the inbox under this id.
struct InboxWritten {
  std::int64_t inbox_id = 0;
};
// A hold ended during which the loop deferred a call to Paho.
struct HoldEnded {};
// A QoS 0 message left Paho: written to the socket, or given up.
struct Qos0Written {};
struct PublishDone {
  int token = 0;
  bool ok = false;
  int code = 0;
};
struct SubscribeDone {
  int token = 0;
  bool ok = false;
  int granted = 0;  // 0x80: refused
};
struct DisconnectDone {};
struct TlsError {
  std::string text;  // OpenSSL's error string, via Paho's ssl_error_cb
};

// Not from Paho: a SUBACK result decided on the loop (subscribe while offline), posted so that the
// core never gets a callback from inside its own subscribe() call.
struct DeferredSuback {
  std::string filter;
  int granted = 0;
};

using PahoEvent =
    std::variant<ConnectOk, ConnectFailed, ConnectionLost, MessageArrived, PublishDone, SubscribeDone,
                 DisconnectDone, TlsError, DeferredSuback, InboxWritten, HoldEnded, Qos0Written>;

class Mailbox {
 public:
  // `on_wake` runs on the loop with `owner` as the handle's data.
  Mailbox(uv_loop_t* loop, void* owner, uv_async_cb on_wake);
  ~Mailbox();
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;

  // Any thread.
  void post(PahoEvent&& e);
  // Loop thread: everything posted so far, in order.
  std::vector<PahoEvent> take();
  // Loop thread: closes the async handle (freed in its close callback); later posts are discarded.
  void close();

 private:
  std::mutex mutex_;
  std::vector<PahoEvent> events_;
  uv_async_t* async_ = nullptr;
};

}  // namespace mqttsn::bridge::detail
