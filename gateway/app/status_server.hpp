#pragma once
// The operator's window: a Unix stream socket served on the loop. One request per line, one JSON
// document (one line) back. A client that stops reading is disconnected once its unsent replies pass a
// bound, so a stuck `mqttsn-gwctl` can never block or bloat the gateway.
#include <uv.h>

#include <functional>
#include <string>
#include <string_view>

namespace mqttsn::app {

class StatusServer {
 public:
  using Handler = std::function<std::string(std::string_view request)>;

  StatusServer(uv_loop_t* loop, Handler handler);
  ~StatusServer();
  StatusServer(const StatusServer&) = delete;
  StatusServer& operator=(const StatusServer&) = delete;

  // Binds `path` (a stale socket file is replaced) with the given permission bits. Returns 0 or a
  // negative libuv error; the message says what failed.
  int listen(const std::string& path, unsigned mode, std::string& error);
  void close();
  unsigned connections() const { return connections_; }

  static constexpr std::size_t kMaxRequestLine = 4096;
  static constexpr std::size_t kMaxPendingReply = 8u << 20;

 private:
  struct Connection;
  static void on_connection(uv_stream_t* server, int status);
  void handle_line(Connection& c, std::string_view line);

  uv_loop_t* loop_;
  Handler handler_;
  uv_pipe_t pipe_{};
  bool listening_ = false;
  std::string path_;
  unsigned connections_ = 0;
};

}  // namespace mqttsn::app
