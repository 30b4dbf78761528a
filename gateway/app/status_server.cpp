#include "gateway/app/status_server.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <vector>

#include "gateway/core/log.hpp"

namespace mqttsn::app {

struct StatusServer::Connection {
  uv_pipe_t pipe{};
  StatusServer* server = nullptr;
  std::string inbox;
  std::size_t pending_bytes = 0;
  bool closing = false;
  bool tracing = false;
  std::string trace_filter;
  std::uint64_t trace_dropped = 0;

  void close() {
    if (closing) return;
    closing = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&pipe), [](uv_handle_t* h) {
      auto* c = static_cast<Connection*>(h->data);
      StatusServer& s = *c->server;
      s.connections_--;
      // Here, not in close(): trace() may close a connection while it walks tracers_.
      if (c->tracing) std::erase(s.tracers_, c);
      if (s.refusing_ && s.connections_ < s.limits_.max_connections) {
        s.refusing_ = false;
        MQTTSN_LOG(notice, "status socket: connections accepted again (%llu refused in all)",
                   static_cast<unsigned long long>(s.counts_.refused));
      }
      delete c;
    });
  }
};

namespace {
struct WriteRequest {
  uv_write_t req{};
  std::string data;
};
}  // namespace

StatusServer::StatusServer(uv_loop_t* loop, Handler handler, StatusServerLimits limits)
    : loop_(loop), handler_(std::move(handler)), limits_(limits) {}

StatusServer::~StatusServer() = default;

int StatusServer::listen(const std::string& path, unsigned mode, std::string& error) {
  std::error_code ec;
  const auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  // A socket file left by a previous run (crash, SIGKILL) would make bind fail with EADDRINUSE.
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(path.c_str());

  uv_pipe_init(loop_, &pipe_, 0);
  pipe_.data = this;
  int rc = uv_pipe_bind(&pipe_, path.c_str());
  if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(&pipe_), 16, on_connection);
  if (rc != 0) {
    error = "status socket " + path + ": " + uv_strerror(rc);
    uv_close(reinterpret_cast<uv_handle_t*>(&pipe_), nullptr);
    return rc;
  }
  if (::chmod(path.c_str(), mode) != 0) {
    MQTTSN_LOG(warning, "status socket %s: chmod %o failed: %s", path.c_str(), mode, std::strerror(errno));
  }
  listening_ = true;
  path_ = path;
  return 0;
}

void StatusServer::close() {
  if (!listening_) return;
  listening_ = false;
  uv_close(reinterpret_cast<uv_handle_t*>(&pipe_), nullptr);
  ::unlink(path_.c_str());
}

// Accepted (else the kernel's backlog fills and the client hangs), told why in one line, closed.
void StatusServer::refuse(uv_stream_t* server_stream) {
  ++counts_.refused;
  if (!refusing_) {
    refusing_ = true;
    MQTTSN_LOG(warning,
               "status socket: %u connections open, the most [status] max_connections allows: new ones are "
               "refused until one closes",
               connections_);
  }
  auto* c = new Connection;
  c->server = this;
  uv_pipe_init(loop_, &c->pipe, 0);
  c->pipe.data = c;
  if (uv_accept(server_stream, reinterpret_cast<uv_stream_t*>(&c->pipe)) != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(&c->pipe),
             [](uv_handle_t* h) { delete static_cast<Connection*>(h->data); });
    return;
  }
  connections_++;  // until its close callback, which counts it out
  reply(*c, R"({"error":"too many status connections"})");
  // uv_close() cancels writes still queued: uv_shutdown() waits for them, then the connection closes.
  auto* sd = new uv_shutdown_t;
  sd->data = c;
  if (uv_shutdown(sd, reinterpret_cast<uv_stream_t*>(&c->pipe), [](uv_shutdown_t* req, int) {
        static_cast<Connection*>(req->data)->close();
        delete req;
      }) != 0) {
    delete sd;
    c->close();
  }
}

void StatusServer::on_connection(uv_stream_t* server_stream, int status) {
  auto* self = static_cast<StatusServer*>(server_stream->data);
  if (status < 0) return;
  if (self->connections_ >= self->limits_.max_connections) return self->refuse(server_stream);
  ++self->counts_.accepted;
  auto* c = new Connection;
  c->server = self;
  uv_pipe_init(self->loop_, &c->pipe, 0);
  c->pipe.data = c;
  if (uv_accept(server_stream, reinterpret_cast<uv_stream_t*>(&c->pipe)) != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(&c->pipe),
             [](uv_handle_t* h) { delete static_cast<Connection*>(h->data); });
    return;
  }
  self->connections_++;
  uv_read_start(
      reinterpret_cast<uv_stream_t*>(&c->pipe),
      [](uv_handle_t*, size_t, uv_buf_t* buf) {
        static char slab[4096];  // one loop thread, and the data is copied out at once
        *buf = uv_buf_init(slab, sizeof slab);
      },
      [](uv_stream_t* stream, ssize_t n, const uv_buf_t* buf) {
        auto* conn = static_cast<Connection*>(stream->data);
        if (n < 0) {
          conn->close();
          return;
        }
        conn->inbox.append(buf->base, static_cast<std::size_t>(n));
        std::size_t nl;
        while (!conn->closing && (nl = conn->inbox.find('\n')) != std::string::npos) {
          std::string line = conn->inbox.substr(0, nl);
          conn->inbox.erase(0, nl + 1);
          if (!line.empty() && line.back() == '\r') line.pop_back();
          conn->server->handle_line(*conn, line);
        }
        if (!conn->closing && conn->inbox.size() > kMaxRequestLine) {
          ++conn->server->counts_.oversized_requests;
          conn->server->reply(*conn, R"({"error":"request line too long"})");
          conn->close();
        }
      });
}

void StatusServer::handle_line(Connection& c, std::string_view line) {
  if (line.empty()) return;
  if (line == "trace" || line.starts_with("trace ")) {
    std::string_view filter = line.substr(5);
    while (!filter.empty() && filter.front() == ' ') filter.remove_prefix(1);
    return start_trace(c, filter);
  }
  if (c.tracing) return;  // a trace stream takes no other request: its lines would interleave
  reply(c, handler_(line));
}

void StatusServer::start_trace(Connection& c, std::string_view filter) {
  if (filter.size() > 200) filter = filter.substr(0, 200);
  c.trace_filter = filter;
  if (!c.tracing) {
    c.tracing = true;
    tracers_.push_back(&c);
  }
  std::string ack = R"({"trace":"started","filter":")";
  for (char ch : c.trace_filter) {
    if (ch == '"' || ch == '\\') ack.push_back('\\');
    if (static_cast<unsigned char>(ch) >= 0x20) ack.push_back(ch);
  }
  ack += "\"}";
  reply(c, std::move(ack));
}

void StatusServer::trace(const TraceEvent& event) {
  std::string prefix;
  for (Connection* c : tracers_) {
    if (c->closing || !trace_matches(c->trace_filter, event)) continue;
    if (prefix.empty()) prefix = trace_json_prefix(event);
    if (c->pending_bytes + prefix.size() + 32 > kMaxTraceBacklog) {
      ++c->trace_dropped;
      ++counts_.trace_dropped;
      continue;
    }
    write(*c, prefix + ",\"dropped\":" + std::to_string(c->trace_dropped) + "}\n");
  }
}

void StatusServer::reply(Connection& c, std::string text) {
  text.push_back('\n');
  if (c.pending_bytes + text.size() > limits_.max_pending_reply) {
    ++counts_.slow_disconnected;
    MQTTSN_LOG(warning,
               "status socket: a client left %zu bytes of replies unread ([status] max_reply_backlog); "
               "disconnecting it",
               c.pending_bytes);
    c.close();
    return;
  }
  write(c, std::move(text));
}

// Queues `text` (a whole line) on the connection; false when the connection had to be closed.
bool StatusServer::write(Connection& c, std::string text) {
  auto* w = new WriteRequest;
  w->data = std::move(text);
  w->req.data = &c;
  c.pending_bytes += w->data.size();
  uv_buf_t buf = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
  int rc = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&c.pipe), &buf, 1, [](uv_write_t* req, int) {
    auto* wr = reinterpret_cast<WriteRequest*>(req);
    // The connection outlives its write requests: libuv cancels them (status UV_ECANCELED) before
    // the close callback that frees the connection runs.
    auto* conn = static_cast<Connection*>(req->data);
    conn->pending_bytes -= wr->data.size();
    delete wr;
  });
  if (rc != 0) {
    c.pending_bytes -= w->data.size();
    delete w;
    c.close();
    return false;
  }
  return true;
}

}  // namespace mqttsn::app
