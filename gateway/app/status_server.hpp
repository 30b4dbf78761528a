#pragma once
// The operator's window: a Unix stream socket served on the loop. One request per line, one JSON
// document (one line) back. Everything a client can make the gateway hold is bounded: connections at
// once (one more is told so and closed), a request line, and each client's unsent replies (a client
// that stops reading is disconnected), so a stuck or runaway `mqttsn-gwctl` loop, or a dashboard
// script opening a connection per query and never closing them, can never block or bloat the gateway.
#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/app/packet_trace.hpp"

namespace mqttsn::app {

struct StatusServerLimits {
  unsigned max_connections = 16;
  std::size_t max_pending_reply = 8u << 20;  // unsent reply bytes per connection
};

struct StatusServerCounts {
  std::uint64_t accepted = 0;
  std::uint64_t refused = 0;             // over max_connections
  std::uint64_t slow_disconnected = 0;   // over max_pending_reply
  std::uint64_t oversized_requests = 0;  // a line over kMaxRequestLine
  std::uint64_t trace_dropped = 0;       // trace lines not sent: a trace connection's backlog was full
};

class StatusServer {
 public:
  using Handler = std::function<std::string(std::string_view request)>;

  StatusServer(uv_loop_t* loop, Handler handler, StatusServerLimits limits = {});
  ~StatusServer();
  StatusServer(const StatusServer&) = delete;
  StatusServer& operator=(const StatusServer&) = delete;

  // Binds `path` (a stale socket file is replaced) with the given permission bits. Returns 0 or a
  // negative libuv error; the message says what failed.
  int listen(const std::string& path, unsigned mode, std::string& error);
  void close();
  unsigned connections() const { return connections_; }
  const StatusServerCounts& counts() const { return counts_; }

  // The live packet trace: `trace [FILTER]` turns a connection into a stream of JSON lines, one per
  // packet (a later `trace FILTER` line changes its filter). tracing() is the hot path's check: no
  // packet is described unless a trace connection is open.
  bool tracing() const { return !tracers_.empty(); }
  std::size_t trace_connections() const { return tracers_.size(); }
  void trace(const TraceEvent& event);

  static constexpr std::size_t kMaxRequestLine = 4096;
  // Above this much unsent data a trace connection's lines are dropped (and counted), not queued: a
  // slow reader costs the gateway this much memory at most, and is never disconnected for it.
  static constexpr std::size_t kMaxTraceBacklog = 256u << 10;

 private:
  struct Connection;
  static void on_connection(uv_stream_t* server, int status);
  void handle_line(Connection& c, std::string_view line);
  void reply(Connection& c, std::string text);
  bool write(Connection& c, std::string text);
  void start_trace(Connection& c, std::string_view filter);
  void refuse(uv_stream_t* server_stream);

  uv_loop_t* loop_;
  Handler handler_;
  StatusServerLimits limits_;
  StatusServerCounts counts_;
  bool refusing_ = false;  // an episode of refused connections is going on (logged once)
  uv_pipe_t pipe_{};
  bool listening_ = false;
  std::string path_;
  unsigned connections_ = 0;
  std::vector<Connection*> tracers_;
};

}  // namespace mqttsn::app
