#pragma once
// The companion's side of the gateway's status socket. One request, one line back: a blocking call
// with a deadline (the socket is local and answers within a loop turn; the page polls every 2 s), and
// the live trace: a connection held open on the companion's loop that streams lines.
#include <uv.h>

#include <functional>
#include <string>
#include <string_view>

#include "web/status_reply.hpp"

namespace mqttsn::web {

// The gateway's reply line to `request`; empty with `error` set when the socket did not answer.
std::string status_request(const std::string& socket, std::string_view request, int timeout_ms,
                           std::string& error);

// One `trace [FILTER]` connection. Created with new; close() ends it and frees it once libuv is done.
class TraceStream {
 public:
  using OnLine = std::function<void(std::string line)>;
  using OnClosed = std::function<void(std::string why)>;

  static TraceStream* open(uv_loop_t* loop, const std::string& socket, std::string filter, OnLine on_line,
                           OnClosed on_closed);
  void set_filter(std::string filter);  // sends `trace FILTER` again: the gateway swaps the filter
  void close();                         // no callback after this

 private:
  TraceStream() = default;
  void send(std::string text);
  void fail(std::string why);

  uv_pipe_t pipe_{};
  uv_connect_t connect_{};
  std::string filter_;
  OnLine on_line_;
  OnClosed on_closed_;
  LineSplitter lines_;
  bool connected_ = false;
  bool closed_ = false;
};

}  // namespace mqttsn::web
