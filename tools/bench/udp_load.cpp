#include "tools/bench/udp_load.hpp"

#include <netdb.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <variant>

#include "gateway/core/codec.hpp"
#include "tools/bench/payload.hpp"
#include "tools/sim/dtls_transport.hpp"

namespace mqttsn::bench {

std::string resolve_udp(const std::string& host_port, Endpoint& out) {
  const auto colon = host_port.rfind(':');
  if (colon == std::string::npos) return "expected host:port, got '" + host_port + "'";
  std::string host = host_port.substr(0, colon);
  const std::string port = host_port.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  if (const int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0 || !res)
    return "cannot resolve '" + host_port + "': " + gai_strerror(rc);
  std::memcpy(&out.addr, res->ai_addr, res->ai_addrlen);
  out.len = res->ai_addrlen;
  freeaddrinfo(res);
  return {};
}

namespace {

constexpr std::uint64_t kMs = 1'000'000ULL;

enum class State : std::uint8_t { closed, connecting, registering, ready, failed };

struct InFlight {
  bool used = false;
  bool awaiting_pubcomp = false;  // QoS 2, second half: PUBREL sent
  std::uint16_t msg_id = 0;
  std::uint8_t tries = 0;
  std::uint32_t seq = 0;
  std::uint64_t first_ns = 0;  // send timestamp carried in the payload
  std::uint64_t last_ns = 0;   // last transmission, for the retry timer
};

struct Client {
  int fd = -1;
  std::unique_ptr<radio::DtlsClient> dtls;  // with --dtls-*: records go through it
  State state = State::closed;
  bool blocked = false;  // EAGAIN seen: wait for EPOLLOUT before sending more
  std::uint16_t next_msg_id = 1;
  std::uint16_t pending_msg_id = 0;  // the outstanding REGISTER
  std::uint8_t tries = 0;
  std::uint64_t last_tx_ns = 0;
  std::vector<std::uint16_t> topic_ids;
  std::uint32_t next_seq = 0;
  std::uint32_t quota = 0;  // messages this client publishes
  std::vector<InFlight> inflight;
  int inflight_count = 0;
};

}  // namespace

struct UdpLoad::Impl {
  Options o;
  std::string run_id;
  const std::atomic<bool>& stop;
  Endpoint gw;
  int ep = -1;
  std::vector<Client> clients;
  LoadCounters c;
  ConnectTimes times;
  std::uint64_t storm_start = 0;
  std::vector<std::uint64_t> ack_lat;
  std::vector<std::uint64_t> acked_keys;
  std::uint64_t first_send = 0, last_send = 0;
  std::vector<std::uint8_t> tx = std::vector<std::uint8_t>(65536);
  std::vector<std::uint8_t> payload;
  std::vector<std::uint8_t> rx = std::vector<std::uint8_t>(65536);
  std::vector<std::string> names;  // scratch for REGISTER
  std::uint64_t rx_now = 0;        // the time of the datagram being read (DTLS hands it over later)
  double handshake_s = 0;          // DTLS: the time every client took to handshake

  std::string handshake_all();

  Impl(const Options& opt, std::string id, const std::atomic<bool>& s)
      : o(opt), run_id(std::move(id)), stop(s) {}

  std::uint16_t take_msg_id(Client& cl) {
    const auto id = cl.next_msg_id++;
    if (cl.next_msg_id == 0) cl.next_msg_id = 1;
    return id;
  }

  std::string topic(int client, int t) const { return bench_topic(o, run_id, client, t); }

  // Returns true when the datagram left (or failed for good); false on EAGAIN (try again later).
  bool send_msg(int idx, const Message& m) {
    Client& cl = clients[static_cast<std::size_t>(idx)];
    const auto r = encode(m, tx);
    if (!r) {
      ++c.socket_errors;
      return true;
    }
    if (cl.dtls) {  // one record; a full socket buffer loses it like any datagram (retransmitted)
      if (!cl.dtls->send(std::span<const std::uint8_t>(tx.data(), r.size))) ++c.socket_errors;
      return true;
    }
    const auto n = ::send(cl.fd, tx.data(), r.size, MSG_DONTWAIT);
    if (n >= 0) return true;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
      ++c.send_eagain;
      if (!cl.blocked) {
        cl.blocked = true;
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLOUT;
        ev.data.u32 = static_cast<std::uint32_t>(idx);
        epoll_ctl(ep, EPOLL_CTL_MOD, cl.fd, &ev);
      }
      return false;
    }
    ++c.socket_errors;
    return true;
  }

  void send_connect(int idx) {
    Client& cl = clients[static_cast<std::size_t>(idx)];
    const std::string id = "bench-" + run_id.substr(0, 8) + "-" + std::to_string(idx);
    Connect m;
    m.clean_session = true;
    m.duration = static_cast<std::uint16_t>(o.keepalive_s);
    m.client_id = std::string_view(id).substr(0, 23);
    send_msg(idx, m);
    cl.last_tx_ns = now_ns();
  }

  void send_register(int idx) {
    Client& cl = clients[static_cast<std::size_t>(idx)];
    const std::string name = topic(idx, static_cast<int>(cl.topic_ids.size()));
    Register m;
    m.msg_id = cl.pending_msg_id;
    m.topic_name = name;
    send_msg(idx, m);
    cl.last_tx_ns = now_ns();
  }

  void start_registering(int idx, std::uint64_t now) {
    Client& cl = clients[static_cast<std::size_t>(idx)];
    if (o.topic_mode != TopicMode::normal || static_cast<int>(cl.topic_ids.size()) >= o.topics_per_client) {
      cl.state = State::ready;
      ++times.registered;
      times.ready_ns[static_cast<std::size_t>(idx)] = now - storm_start;
      return;
    }
    cl.state = State::registering;
    cl.tries = 0;
    cl.pending_msg_id = take_msg_id(cl);
    send_register(idx);
  }

  Publish make_publish(const Client& cl, const InFlight& f, bool dup) {
    Publish p;
    p.dup = dup;
    p.qos = static_cast<QoS>(o.qos);
    p.msg_id = o.qos > 0 ? f.msg_id : 0;
    switch (o.topic_mode) {
      case TopicMode::normal:
        p.topic_id_type = TopicIdType::normal;
        p.topic_id = cl.topic_ids.empty() ? 0 : cl.topic_ids[f.seq % cl.topic_ids.size()];
        break;
      case TopicMode::short_name:
        p.topic_id_type = TopicIdType::short_name;
        p.topic_id = short_topic_id(o.short_topic[0], o.short_topic[1]);
        break;
      case TopicMode::predefined:
        p.topic_id_type = TopicIdType::predefined;
        p.topic_id = o.predefined_id;
        break;
    }
    p.data = payload;
    return p;
  }

  // Sends the next new message of client idx; false when it could not (EAGAIN).
  bool publish_next(int idx, std::uint64_t now) {
    Client& cl = clients[static_cast<std::size_t>(idx)];
    InFlight f;
    f.seq = cl.next_seq;
    f.first_ns = now;
    f.last_ns = now;
    encode_payload({static_cast<std::uint32_t>(idx), f.seq, now}, payload);
    InFlight* slot = nullptr;
    if (o.qos > 0) {
      slot =
          &*std::find_if(cl.inflight.begin(), cl.inflight.end(), [](const InFlight& x) { return !x.used; });
      f.msg_id = take_msg_id(cl);
    }
    if (!send_msg(idx, make_publish(cl, f, false))) return false;
    ++cl.next_seq;
    ++c.published;
    ++c.transmissions;
    if (first_send == 0) first_send = now;
    last_send = now;
    if (slot) {
      f.used = true;
      *slot = f;
      ++cl.inflight_count;
    }
    return true;
  }

  bool can_publish(const Client& cl) const {
    return cl.state == State::ready && !cl.blocked && cl.next_seq < cl.quota &&
           (o.qos <= 0 || cl.inflight_count < o.window);
  }

  void finish_flight(Client& cl, InFlight& f, std::uint64_t now) {
    ack_lat.push_back(now - f.first_ns);
    acked_keys.push_back(static_cast<std::uint64_t>(&cl - clients.data()) << 32 | f.seq);
    ++c.acked;
    f.used = false;
    --cl.inflight_count;
  }

  InFlight* find_flight(Client& cl, std::uint16_t msg_id) {
    for (auto& f : cl.inflight)
      if (f.used && f.msg_id == msg_id) return &f;
    return nullptr;
  }

  void on_datagram(int idx, std::span<const std::uint8_t> d, std::uint64_t now) {
    Client& cl = clients[static_cast<std::size_t>(idx)];
    ++c.received;
    const auto r = decode(d);
    if (!r) {
      ++c.decode_errors;
      return;
    }
    std::visit(
        [&](const auto& m) {
          using T = std::decay_t<decltype(m)>;
          if constexpr (std::is_same_v<T, ConnAck>) {
            if (cl.state != State::connecting) return void(++c.unexpected);
            if (m.rc != ReturnCode::accepted) return void(++c.connack_rejects);  // retried by the timer
            ++times.connected;
            times.connack_ns[static_cast<std::size_t>(idx)] = now - storm_start;
            start_registering(idx, now);
          } else if constexpr (std::is_same_v<T, RegAck>) {
            if (cl.state != State::registering || m.msg_id != cl.pending_msg_id) return void(++c.unexpected);
            if (m.rc != ReturnCode::accepted) return void(++c.regack_rejects);  // retried by the timer
            cl.topic_ids.push_back(m.topic_id);
            start_registering(idx, now);
          } else if constexpr (std::is_same_v<T, PubAck>) {
            // A rejection may answer a PUBLISH at any QoS; an accepted PUBACK ends only a QoS 1 flow.
            InFlight* f = o.qos > 0 ? find_flight(cl, m.msg_id) : nullptr;
            if (f && f->awaiting_pubcomp) f = nullptr;
            if (m.rc != ReturnCode::accepted) {
              ++c.rejected;
              if (m.rc == ReturnCode::congestion) ++c.rejected_congestion;
              // Congestion: the timer sends it again. Anything else is final for this message.
              if (f && m.rc != ReturnCode::congestion) {
                ++c.gave_up;
                f->used = false;
                --cl.inflight_count;
              }
              return;
            }
            if (!f || o.qos != 1) return void(++c.unexpected);  // late duplicate ack
            finish_flight(cl, *f, now);
          } else if constexpr (std::is_same_v<T, PubRec>) {
            InFlight* f = o.qos == 2 ? find_flight(cl, m.msg_id) : nullptr;
            if (!f) return void(++c.unexpected);
            f->awaiting_pubcomp = true;
            f->last_ns = now;
            f->tries = 0;
            send_msg(idx, PubRel{m.msg_id});
          } else if constexpr (std::is_same_v<T, PubComp>) {
            InFlight* f = o.qos == 2 ? find_flight(cl, m.msg_id) : nullptr;
            if (!f || !f->awaiting_pubcomp) return void(++c.unexpected);
            finish_flight(cl, *f, now);
          } else if constexpr (std::is_same_v<T, Disconnect>) {
            if (cl.state == State::closed) return;  // the answer to our own DISCONNECT
            ++c.gateway_disconnects;
            cl.state = State::failed;
          } else if constexpr (std::is_same_v<T, PingResp>) {
          } else {
            ++c.unexpected;
          }
        },
        r.message());
  }

  void read_client(int idx, std::uint64_t now) {
    Client& cl = clients[static_cast<std::size_t>(idx)];
    for (int i = 0; i < 64; ++i) {
      const auto n = ::recv(cl.fd, rx.data(), rx.size(), MSG_DONTWAIT);
      if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK) ++c.socket_errors;  // e.g. ECONNREFUSED from an ICMP
        return;
      }
      if (cl.dtls) {
        rx_now = now;
        cl.dtls->on_datagram(std::span<const std::uint8_t>(rx.data(), static_cast<std::size_t>(n)));
        continue;
      }
      on_datagram(idx, std::span<const std::uint8_t>(rx.data(), static_cast<std::size_t>(n)), now);
    }
  }

  // Waits up to timeout_ms for socket events and handles them.
  void poll(int timeout_ms) {
    epoll_event evs[256];
    const int n = epoll_wait(ep, evs, 256, timeout_ms);
    const auto now = now_ns();
    for (int i = 0; i < n; ++i) {
      const int idx = static_cast<int>(evs[i].data.u32);
      Client& cl = clients[static_cast<std::size_t>(idx)];
      if ((evs[i].events & EPOLLOUT) && cl.blocked) {
        cl.blocked = false;
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u32 = evs[i].data.u32;
        epoll_ctl(ep, EPOLL_CTL_MOD, cl.fd, &ev);
      }
      if (evs[i].events & (EPOLLIN | EPOLLERR)) read_client(idx, now);
    }
  }

  // Retransmits whatever waited longer than retry_ms; gives up after max_retries.
  void retry_scan(std::uint64_t now) {
    const auto timeout = static_cast<std::uint64_t>(o.retry_ms) * kMs;
    for (int idx = 0; idx < static_cast<int>(clients.size()); ++idx) {
      Client& cl = clients[static_cast<std::size_t>(idx)];
      if (cl.blocked) continue;
      if ((cl.state == State::connecting || cl.state == State::registering) &&
          now - cl.last_tx_ns >= timeout) {
        if (cl.tries >= o.max_retries) {
          cl.state = State::failed;
          ++times.failed;
          continue;
        }
        ++cl.tries;
        ++c.retransmissions;
        cl.state == State::connecting ? send_connect(idx) : send_register(idx);
      }
      if (cl.inflight_count == 0) continue;
      for (auto& f : cl.inflight) {
        if (!f.used || now - f.last_ns < timeout) continue;
        if (f.tries >= o.max_retries) {
          ++c.gave_up;
          f.used = false;
          --cl.inflight_count;
          continue;
        }
        bool sent = false;
        if (f.awaiting_pubcomp) {
          sent = send_msg(idx, PubRel{f.msg_id});
        } else {
          encode_payload({static_cast<std::uint32_t>(idx), f.seq, f.first_ns}, payload);
          sent = send_msg(idx, make_publish(cl, f, true));
          if (sent) ++c.transmissions;
        }
        if (!sent) break;
        ++f.tries;
        ++c.retransmissions;
        f.last_ns = now;
      }
    }
  }

  bool any_pending_setup() const {
    return std::any_of(clients.begin(), clients.end(), [](const Client& cl) {
      return cl.state == State::connecting || cl.state == State::registering;
    });
  }
};

UdpLoad::UdpLoad(const Options& o, std::string run_id, const std::atomic<bool>& stop)
    : impl_(std::make_unique<Impl>(o, std::move(run_id), stop)) {}

UdpLoad::~UdpLoad() {
  for (auto& cl : impl_->clients)
    if (cl.fd >= 0) ::close(cl.fd);
  if (impl_->ep >= 0) ::close(impl_->ep);
}

std::string UdpLoad::open() {
  auto& s = *impl_;
  if (auto err = resolve_udp(s.o.gateway, s.gw); !err.empty()) return err;
  s.ep = epoll_create1(EPOLL_CLOEXEC);
  if (s.ep < 0) return std::string("epoll_create1: ") + std::strerror(errno);
  s.payload.assign(static_cast<std::size_t>(s.o.payload), 0);
  const auto n = static_cast<std::size_t>(s.o.clients);
  s.clients.resize(n);
  s.times.connack_ns.assign(n, 0);
  s.times.ready_ns.assign(n, 0);
  const std::uint64_t per = s.o.duration_s > 0 ? UINT32_MAX : s.o.count / std::max<std::size_t>(n, 1);
  const std::uint64_t extra = s.o.duration_s > 0 ? 0 : s.o.count % std::max<std::size_t>(n, 1);
  for (std::size_t i = 0; i < n; ++i) {
    Client& cl = s.clients[i];
    cl.quota = static_cast<std::uint32_t>(per + (i < extra ? 1 : 0));
    cl.inflight.resize(s.o.qos > 0 ? static_cast<std::size_t>(s.o.window) : 0);
    cl.fd = ::socket(s.gw.addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (cl.fd < 0) return "socket() for client " + std::to_string(i) + ": " + std::strerror(errno);
    // Bigger buffers so a burst waits in the kernel instead of being dropped; the kernel caps them
    // at net.core.{r,w}mem_max, which is fine.
    setsockopt(cl.fd, SOL_SOCKET, SO_SNDBUF, &s.o.sock_buf, sizeof s.o.sock_buf);
    setsockopt(cl.fd, SOL_SOCKET, SO_RCVBUF, &s.o.sock_buf, sizeof s.o.sock_buf);
    if (::connect(cl.fd, reinterpret_cast<const sockaddr*>(&s.gw.addr), s.gw.len) != 0)
      return "connect() for client " + std::to_string(i) + ": " + std::strerror(errno);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<std::uint32_t>(i);
    if (epoll_ctl(s.ep, EPOLL_CTL_ADD, cl.fd, &ev) != 0)
      return std::string("epoll_ctl: ") + std::strerror(errno);
  }
  if (s.o.dtls_psk.empty() && s.o.dtls_cert.empty()) return {};
  return s.handshake_all();
}

double UdpLoad::dtls_handshake_seconds() const {
  return impl_->handshake_s;
}

// Every client handshakes before the load starts (all at once, as after a gateway restart); the time
// that takes is the handshake rate the README reports.
std::string UdpLoad::Impl::handshake_all() {
  std::string error;
  auto contexts =
      sim::make_dtls_contexts(o.dtls_psk, o.dtls_cert, o.dtls_key, o.dtls_ca, clients.size(), error);
  if (contexts.empty()) return error;
  for (std::size_t i = 0; i < clients.size(); ++i) {
    Client& cl = clients[i];
    const int idx = static_cast<int>(i);
    cl.dtls = std::make_unique<radio::DtlsClient>(
        contexts.size() == 1 ? contexts.front() : contexts[i],
        [fd = cl.fd](std::span<const std::uint8_t> d) { ::send(fd, d.data(), d.size(), MSG_DONTWAIT); },
        [this, idx](std::span<const std::uint8_t> d) { on_datagram(idx, d, rx_now); });
  }
  const auto start = now_ns();
  for (auto& cl : clients) cl.dtls->connect();
  const auto deadline = start + static_cast<std::uint64_t>(std::max(o.gateway_wait_s, 10.0) * 1e9);
  std::size_t done = 0;
  while (now_ns() < deadline) {
    poll(20);
    done = 0;
    for (auto& cl : clients) {
      if (!cl.dtls->established() && !cl.dtls->failed()) cl.dtls->on_tick();
      if (cl.dtls->established()) ++done;
    }
    if (done == clients.size()) break;
  }
  handshake_s = static_cast<double>(now_ns() - start) / 1e9;
  if (done < clients.size())
    return std::to_string(clients.size() - done) + " of " + std::to_string(clients.size()) +
           " DTLS handshakes did not finish";
  return {};
}

ConnectTimes UdpLoad::connect_all(double timeout_s) {
  auto& s = *impl_;
  s.storm_start = now_ns();
  for (int i = 0; i < static_cast<int>(s.clients.size()); ++i) {
    auto& cl = s.clients[static_cast<std::size_t>(i)];
    if (s.o.qos < 0) {  // QoS -1 publishers have no connection: they just send
      cl.state = State::ready;
      ++s.times.connected;
      ++s.times.registered;
      continue;
    }
    cl.state = State::connecting;
    s.send_connect(i);
  }
  const auto deadline = s.storm_start + static_cast<std::uint64_t>(timeout_s * 1e9);
  std::uint64_t next_scan = s.storm_start + 10 * kMs;
  while (!s.stop && s.any_pending_setup() && now_ns() < deadline) {
    s.poll(10);
    if (const auto now = now_ns(); now >= next_scan) {
      s.retry_scan(now);
      next_scan = now + 10 * kMs;
    }
  }
  return s.times;
}

void UdpLoad::publish(double timeout_s, const std::function<void()>& tick) {
  auto& s = *impl_;
  const auto start = now_ns();
  const auto deadline = start + static_cast<std::uint64_t>(timeout_s * 1e9);
  const auto stop_sending =
      s.o.duration_s > 0 ? start + static_cast<std::uint64_t>(s.o.duration_s * 1e9) : UINT64_MAX;
  const auto scan_every = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(s.o.retry_ms) / 4) * kMs;
  std::uint64_t next_scan = start + scan_every;
  std::uint64_t sent_at_start = s.c.published;
  std::size_t cursor = 0;
  const std::size_t n = s.clients.size();
  for (;;) {
    if (tick) tick();
    auto now = now_ns();
    if (s.stop || now >= deadline) break;
    const bool sending = now < stop_sending;
    // Token bucket over all clients: how many new messages the rate allows by now.
    std::uint64_t allowed = UINT64_MAX;
    if (s.o.rate > 0) {
      const auto due = static_cast<std::uint64_t>(static_cast<double>(now - start) * s.o.rate / 1e9) + 1;
      const auto done = s.c.published - sent_at_start;
      allowed = due > done ? due - done : 0;
    }
    // Round-robin, one message per client per pass, a bounded burst before looking at the sockets.
    std::uint64_t burst = 0;
    bool progress = true;
    while (sending && progress && allowed > 0 && burst < 512) {
      progress = false;
      for (std::size_t k = 0; k < n && allowed > 0; ++k) {
        const auto idx = (cursor + k) % n;
        if (!s.can_publish(s.clients[idx])) continue;
        if (s.publish_next(static_cast<int>(idx), now)) {
          progress = true;
          --allowed;
          ++burst;
        }
      }
      cursor = (cursor + 1) % std::max<std::size_t>(n, 1);
      now = now_ns();
    }
    // Finished: nothing left to send (or time is up) and nothing in flight.
    const bool more_to_send =
        sending && std::any_of(s.clients.begin(), s.clients.end(), [](const Client& cl) {
          return cl.state == State::ready && cl.next_seq < cl.quota;
        });
    const bool in_flight = std::any_of(s.clients.begin(), s.clients.end(), [](const Client& cl) {
      return cl.state == State::ready && cl.inflight_count > 0;
    });
    if (!more_to_send && !in_flight) break;
    // Sleep until a socket speaks, the next token, or the next retry scan.
    int wait_ms = 0;
    if (burst == 0) {
      wait_ms = 1;
      if (!more_to_send || s.o.rate <= 0)
        wait_ms = static_cast<int>(std::max<std::uint64_t>(1, scan_every / kMs));
    }
    s.poll(wait_ms);
    if (now = now_ns(); now >= next_scan) {
      s.retry_scan(now);
      next_scan = now + scan_every;
    }
  }
}

void UdpLoad::idle(double seconds) {
  auto& s = *impl_;
  const auto end = now_ns() + static_cast<std::uint64_t>(seconds * 1e9);
  while (!s.stop && now_ns() < end) s.poll(100);
}

void UdpLoad::disconnect_all() {
  auto& s = *impl_;
  for (int i = 0; i < static_cast<int>(s.clients.size()); ++i) {
    auto& cl = s.clients[static_cast<std::size_t>(i)];
    if (cl.state == State::closed || cl.fd < 0) continue;
    s.send_msg(i, Disconnect{});
    cl.state = State::closed;
  }
  // Read the DISCONNECT answers so they do not count as drops at our sockets; no waiting beyond that.
  const auto end = now_ns() + 200 * kMs;
  while (now_ns() < end) s.poll(20);
}

const LoadCounters& UdpLoad::counters() const {
  return impl_->c;
}
std::vector<std::uint64_t> UdpLoad::take_ack_latencies() {
  return std::move(impl_->ack_lat);
}
std::vector<std::uint64_t> UdpLoad::take_acked_keys() {
  return std::move(impl_->acked_keys);
}
std::uint64_t UdpLoad::first_send_ns() const {
  return impl_->first_send;
}
std::uint64_t UdpLoad::last_send_ns() const {
  return impl_->last_send;
}
std::string UdpLoad::topic_name(int client, int t) const {
  return impl_->topic(client, t);
}

}  // namespace mqttsn::bench
