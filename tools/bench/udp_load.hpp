#pragma once
// N MQTT-SN clients in one thread: one UDP socket each (so the gateway sees N addresses), one epoll
// set, no thread and no timer per client. Each client CONNECTs, REGISTERs its topics one at a time,
// then PUBLISHes with up to `window` messages in flight, retransmitting with DUP after a timeout.
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "gateway/core/counter_set.hpp"
#include "tools/bench/options.hpp"

namespace mqttsn::bench {

struct Endpoint {
  sockaddr_storage addr{};
  socklen_t len = 0;
};
// "host:port" or "[v6]:port"; empty error string on success.
std::string resolve_udp(const std::string& host_port, Endpoint& out);

// What the load's nodes count, reported under "client" in a scenario's JSON (scenario.cpp). Each is
// declared once, here (the pattern: gateway/core/counter_set.hpp).
#define MQTTSN_BENCH_CLIENT_COUNTERS(X)                                                      \
  X(transmissions)       /* datagrams carrying a PUBLISH (first sends and retries) */        \
  X(retransmissions)     /* PUBLISH/PUBREL/CONNECT/REGISTER resent after a timeout */        \
  X(acked)               /* QoS 1/2 flows completed with rc accepted */                      \
  X(rejected)            /* PUBACK with an error code (all of them) */                       \
  X(rejected_congestion) /* ... rc 0x01: sent again after retry_ms */                        \
  X(gave_up)             /* messages dropped after max retries or a fatal rc */              \
  X(send_eagain)         /* socket buffer full: the datagram waits, it is not lost */        \
  X(socket_errors)       /* other send or receive errors (ECONNREFUSED: nobody listening) */ \
  X(received)            /* datagrams from the gateway */                                    \
  X(decode_errors)                                                                           \
  X(unexpected) /* well-formed but not expected here (unknown msg id, ...) */                \
  X(gateway_disconnects)

struct ClientCounters {
  MQTTSN_COUNTER_MEMBERS(MQTTSN_BENCH_CLIENT_COUNTERS);
};
static_assert(lists_every_member<ClientCounters>());

// ... and what "client" leaves out: published is the run's own figure (reported on its own), and the
// refused CONNECTs and REGISTERs, retried by the timer, are counted but not reported.
struct LoadCounters : ClientCounters {
  std::uint64_t published = 0;  // distinct messages sent at least once
  std::uint64_t connack_rejects = 0;
  std::uint64_t regack_rejects = 0;
};

struct ConnectTimes {
  int connected = 0, registered = 0, failed = 0;
  std::vector<std::uint64_t> connack_ns;  // per client, from the storm start
  std::vector<std::uint64_t> ready_ns;    // per client, CONNACK and every REGACK
};

class UdpLoad {
 public:
  UdpLoad(const Options& o, std::string run_id, const std::atomic<bool>& stop);
  ~UdpLoad();
  UdpLoad(const UdpLoad&) = delete;
  UdpLoad& operator=(const UdpLoad&) = delete;

  // Opens one socket per client (and with --dtls-*, handshakes them all); error text or empty.
  std::string open();
  // CONNECT + REGISTER every client at once; returns when all are ready or failed, or at the timeout.
  ConnectTimes connect_all(double timeout_s);
  // Publishes per the options; returns when all messages are acknowledged (or given up), or when the
  // duration/timeout ends. `tick`, when set, runs on every turn of the loop (at least every few ms
  // while paced): other work of this thread that must not block it.
  void publish(double timeout_s, const std::function<void()>& tick = {});
  // Keeps reading (and answering nothing) for `seconds`; used while the gateway is measured idle.
  void idle(double seconds);
  // DISCONNECT every connected client (best effort, no wait for the answer beyond a short drain).
  void disconnect_all();
  // With --dtls-*: how long open() took to handshake every client.
  double dtls_handshake_seconds() const;

  const LoadCounters& counters() const;
  std::vector<std::uint64_t> take_ack_latencies();  // PUBLISH first sent -> PUBACK/PUBCOMP, ns
  // The messages acknowledged (accepted) to their client, as client << 32 | seq (the subscriber's key).
  std::vector<std::uint64_t> take_acked_keys();
  std::uint64_t first_send_ns() const;
  std::uint64_t last_send_ns() const;
  // Topic name of client i, topic t (what the subscriber sees).
  std::string topic_name(int client, int topic) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mqttsn::bench
