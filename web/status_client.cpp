#include "web/status_client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace mqttsn::web {

namespace {

// The time left until `deadline` in ms, for poll().
int left_ms(std::chrono::steady_clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now())
          .count();
  return left < 0 ? 0 : static_cast<int>(left);
}

}  // namespace

std::string status_request(const std::string& socket, std::string_view request, int timeout_ms,
                           std::string& error) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket.size() >= sizeof addr.sun_path) {
    error = "status socket path too long: " + socket;
    return {};
  }
  std::memcpy(addr.sun_path, socket.c_str(), socket.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = std::string("socket: ") + std::strerror(errno);
    return {};
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::string reply;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    error = "status socket " + socket + ": " + std::strerror(errno) + " (is mqttsn-gw running?)";
    ::close(fd);
    return {};
  }
  std::string line(request);
  line.push_back('\n');
  if (::send(fd, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) {
    error = std::string("status socket: send: ") + std::strerror(errno);
    ::close(fd);
    return {};
  }
  char buf[16384];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, left_ms(deadline)) <= 0) {
      error = "status socket: no answer within " + std::to_string(timeout_ms) + " ms";
      break;
    }
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      error = "status socket: closed before the answer ended";
      break;
    }
    reply.append(buf, static_cast<std::size_t>(n));
    if (const auto nl = reply.find('\n'); nl != std::string::npos) {
      reply.resize(nl);
      error.clear();
      ::close(fd);
      return reply;
    }
  }
  ::close(fd);
  return {};
}

TraceStream* TraceStream::open(uv_loop_t* loop, const std::string& socket, std::string filter, OnLine on_line,
                               OnClosed on_closed) {
  auto* t = new TraceStream;
  t->filter_ = std::move(filter);
  t->on_line_ = std::move(on_line);
  t->on_closed_ = std::move(on_closed);
  uv_pipe_init(loop, &t->pipe_, 0);
  t->pipe_.data = t;
  t->connect_.data = t;
  uv_pipe_connect(&t->connect_, &t->pipe_, socket.c_str(), [](uv_connect_t* req, int status) {
    auto* self = static_cast<TraceStream*>(req->data);
    if (self->closed_) return;
    if (status < 0) return self->fail(std::string("status socket: ") + uv_strerror(status));
    self->connected_ = true;
    self->send("trace " + self->filter_ + "\n");
    uv_read_start(
        reinterpret_cast<uv_stream_t*>(&self->pipe_),
        [](uv_handle_t*, size_t, uv_buf_t* buf) {
          static char slab[65536];  // one loop thread; the bytes are copied out at once
          *buf = uv_buf_init(slab, sizeof slab);
        },
        [](uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
          auto* me = static_cast<TraceStream*>(s->data);
          if (me->closed_) return;
          if (n < 0)
            return me->fail(n == UV_EOF ? "the gateway closed the trace" : uv_strerror(static_cast<int>(n)));
          for (auto& line : me->lines_.feed(std::string_view(buf->base, static_cast<std::size_t>(n)))) {
            me->on_line_(std::move(line));
            if (me->closed_) return;
          }
        });
  });
  return t;
}

void TraceStream::send(std::string text) {
  struct Write {
    uv_write_t req{};
    std::string data;
  };
  auto* w = new Write;
  w->data = std::move(text);
  uv_buf_t buf = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
  if (uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&pipe_), &buf, 1,
               [](uv_write_t* req, int) { delete reinterpret_cast<Write*>(req); }) != 0)
    delete w;
}

void TraceStream::set_filter(std::string filter) {
  filter_ = std::move(filter);
  if (connected_ && !closed_) send("trace " + filter_ + "\n");
}

void TraceStream::fail(std::string why) {
  auto cb = std::move(on_closed_);
  close();
  if (cb) cb(std::move(why));
}

void TraceStream::close() {
  if (closed_) return;
  closed_ = true;
  on_line_ = nullptr;
  on_closed_ = nullptr;
  // The pending connect and writes are cancelled before the close callback frees the object.
  uv_close(reinterpret_cast<uv_handle_t*>(&pipe_),
           [](uv_handle_t* h) { delete static_cast<TraceStream*>(h->data); });
}

}  // namespace mqttsn::web
