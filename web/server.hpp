#pragma once
// The HTTP and WebSocket side of mqttsn-gwweb: libwebsockets on the companion's libuv loop.
//   GET /                      the page (web/assets), and the other assets by name
//   GET /api/clients|topics?client=ID|subscriptions|stats   the status socket's reply, passed through
//   POST /api/request          {"request":"kick ID"} / "clear-buffer ID"; only with --allow-requests
//   WS /trace                  the gateway's live packet trace; a text message from the page is its filter
// With a token, every request must carry it once: "Authorization: Bearer T", ?token=T (the page's
// first load; answered with a cookie) or that cookie.
#include <uv.h>

#include <string>

#include "web/options.hpp"

struct lws_context;

namespace mqttsn::web {

class WebServer {
 public:
  WebServer(uv_loop_t* loop, WebOptions options, ListenAddress listen);
  ~WebServer();
  WebServer(const WebServer&) = delete;
  WebServer& operator=(const WebServer&) = delete;

  bool start(std::string& error);
  void stop();  // destroys the lws context; the loop then runs its close callbacks

  const WebOptions& options() const { return options_; }
  uv_loop_t* loop() const { return loop_; }

 private:
  uv_loop_t* loop_;
  WebOptions options_;
  ListenAddress listen_;
  lws_context* context_ = nullptr;
};

}  // namespace mqttsn::web
