#include "bridge/tcp_probe.hpp"

#include <memory>

namespace mqttsn::bridge {

namespace {

struct Probe {
  uv_getaddrinfo_t resolve{};
  uv_tcp_t tcp{};
  uv_connect_t connect{};
  std::function<void(bool)> done;
  bool result = false;
};

void finish(Probe* p, bool accepts, bool close_tcp) {
  p->result = accepts;
  if (!close_tcp) {
    auto done = std::move(p->done);
    delete p;
    done(accepts);
    return;
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&p->tcp), [](uv_handle_t* h) {
    auto* probe = static_cast<Probe*>(h->data);
    auto done = std::move(probe->done);
    bool r = probe->result;
    delete probe;
    done(r);
  });
}

bool split_uri(const std::string& uri, std::string& host, std::string& port) {
  auto scheme = uri.find("://");
  std::string rest = scheme == std::string::npos ? uri : uri.substr(scheme + 3);
  auto slash = rest.find('/');
  if (slash != std::string::npos) rest.resize(slash);
  if (!rest.empty() && rest.front() == '[') {  // [v6]:port
    auto close = rest.find(']');
    if (close == std::string::npos) return false;
    host = rest.substr(1, close - 1);
    port = close + 2 <= rest.size() ? rest.substr(close + 2) : "";
  } else {
    auto colon = rest.rfind(':');
    host = rest.substr(0, colon);
    port = colon == std::string::npos ? "" : rest.substr(colon + 1);
  }
  if (port.empty()) port = uri.starts_with("tcp://") || uri.starts_with("mqtt://") ? "1883" : "8883";
  return !host.empty();
}

}  // namespace

void probe_tcp(uv_loop_t* loop, const std::string& uri, std::function<void(bool)> done) {
  auto* p = new Probe;
  p->done = std::move(done);
  std::string host, port;
  if (!split_uri(uri, host, port)) {
    // Still asynchronous: resolve an empty name, which fails at once.
    host = "";
  }
  p->resolve.data = p;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  int rc = uv_getaddrinfo(
      loop, &p->resolve,
      [](uv_getaddrinfo_t* req, int status, addrinfo* res) {
        auto* probe = static_cast<Probe*>(req->data);
        if (status != 0 || res == nullptr) {
          if (res != nullptr) uv_freeaddrinfo(res);
          finish(probe, false, false);
          return;
        }
        uv_tcp_init(req->loop, &probe->tcp);
        probe->tcp.data = probe;
        probe->connect.data = probe;
        int c = uv_tcp_connect(&probe->connect, &probe->tcp, res->ai_addr, [](uv_connect_t* conn, int st) {
          finish(static_cast<Probe*>(conn->data), st == 0, true);
        });
        uv_freeaddrinfo(res);
        if (c != 0) finish(probe, false, true);
      },
      host.empty() ? nullptr : host.c_str(), port.c_str(), &hints);
  if (rc != 0) {
    // uv_getaddrinfo refused synchronously: report on the next loop turn through a timer.
    auto* t = new uv_timer_t{};
    uv_timer_init(loop, t);
    t->data = p;
    uv_timer_start(
        t,
        [](uv_timer_t* timer) {
          auto* probe = static_cast<Probe*>(timer->data);
          uv_close(reinterpret_cast<uv_handle_t*>(timer),
                   [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
          finish(probe, false, false);
        },
        0, 0);
  }
}

}  // namespace mqttsn::bridge
