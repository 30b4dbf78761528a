#include "web/server.hpp"

#include <libwebsockets.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <string_view>

#include <nlohmann/json.hpp>

#include "web/bounded_queue.hpp"
#include "web/status_client.hpp"
#include "web/status_reply.hpp"

namespace mqttsn::web {

namespace {

constexpr int kStatusTimeoutMs = 3000;
// Trace lines waiting for one browser: beyond this they are dropped and counted (the page shows it).
constexpr std::size_t kWsQueueBytes = 256u << 10;
constexpr const char* kCookie = "mqttsn_gwweb";

WebServer& server_of(lws* wsi) {
  return *static_cast<WebServer*>(lws_context_user(lws_get_context(wsi)));
}

// Same time whatever the first differing byte: the token must not leak through response timing.
bool same_secret(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

// `from_query`: the token came in the URL, so the answer sets the cookie the page uses afterwards.
bool authorized(lws* wsi, bool& from_query) {
  const std::string& token = server_of(wsi).options().token;
  from_query = false;
  if (token.empty()) return true;
  char buf[512];
  const int n = lws_hdr_copy(wsi, buf, sizeof buf, WSI_TOKEN_HTTP_AUTHORIZATION);
  if (n > 7 && std::string_view(buf, 7) == "Bearer " &&
      same_secret(std::string_view(buf + 7, static_cast<std::size_t>(n - 7)), token))
    return true;
  std::size_t len = sizeof buf;
  if (lws_http_cookie_get(wsi, kCookie, buf, &len) == 0 && same_secret(std::string_view(buf, len), token))
    return true;
  if (const char* v = lws_get_urlarg_by_name(wsi, "token=", buf, sizeof buf); v && same_secret(v, token)) {
    from_query = true;
    return true;
  }
  return false;
}

// ---- HTTP: every answer is built whole, then written in chunks as lws allows.

struct Reply {
  unsigned status = 200;
  std::string mime = "application/json";
  std::string body;
  std::string cookie;  // a Set-Cookie value, or empty
  std::size_t sent = 0;
  std::string post;            // the request body of a POST
  bool awaiting_body = false;  // a POST we answer once its body is in (not one refused already)
};

struct HttpSession {
  Reply* reply;
};

const char* mime_of(std::string_view name) {
  if (name.ends_with(".html")) return "text/html; charset=utf-8";
  if (name.ends_with(".css")) return "text/css; charset=utf-8";
  if (name.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (name.ends_with(".png")) return "image/png";
  if (name.ends_with(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

std::string error_json(std::string_view text) {
  return nlohmann::json{{"error", text}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

int send_headers(lws* wsi, Reply& r) {
  unsigned char buf[LWS_PRE + 2048];
  unsigned char* start = buf + LWS_PRE;
  unsigned char* p = start;
  unsigned char* end = buf + sizeof buf - 1;
  if (lws_add_http_common_headers(wsi, r.status, r.mime.c_str(), r.body.size(), &p, end)) return 1;
  auto header = [&](const char* name, const std::string& value) {
    return lws_add_http_header_by_name(wsi, reinterpret_cast<const unsigned char*>(name),
                                       reinterpret_cast<const unsigned char*>(value.data()),
                                       static_cast<int>(value.size()), &p, end);
  };
  // Nothing but our own assets may run in the page, and nothing is cached that holds live state.
  if (header(
          "content-security-policy:",
          "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; frame-ancestors 'none'") ||
      header("x-content-type-options:", "nosniff") || header("cache-control:", "no-store") ||
      header("referrer-policy:", "no-referrer"))
    return 1;
  if (!r.cookie.empty() && header("set-cookie:", r.cookie)) return 1;
  if (lws_finalize_write_http_header(wsi, start, &p, end)) return 1;
  lws_callback_on_writable(wsi);
  return 0;
}

int respond(lws* wsi, HttpSession& s, unsigned status, std::string mime, std::string body) {
  if (!s.reply) s.reply = new Reply;
  s.reply->status = status;
  s.reply->mime = std::move(mime);
  s.reply->body = std::move(body);
  return send_headers(wsi, *s.reply);
}

// A status request's reply passed through; 502 when the gateway did not answer.
int respond_status(lws* wsi, HttpSession& s, const std::string& request) {
  std::string error;
  std::string reply = status_request(server_of(wsi).options().socket, request, kStatusTimeoutMs, error);
  if (reply.empty()) return respond(wsi, s, 502, "application/json", error_json(error));
  return respond(wsi, s, 200, "application/json", std::move(reply));
}

bool read_asset(const std::string& dir, std::string_view name, std::string& out) {
  // Only flat names of web/assets: no path from the URL ever reaches the file system unchecked.
  if (name.empty() || name.find('/') != std::string_view::npos || name.find("..") != std::string_view::npos)
    return false;
  std::ifstream in(dir + "/" + std::string(name), std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

int on_http_request(lws* wsi, HttpSession& s, std::string_view path) {
  WebServer& server = server_of(wsi);
  bool from_query = false;
  if (!authorized(wsi, from_query))
    return respond(wsi, s, 401, "application/json", error_json("a token is needed (?token=...)"));
  const bool post = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0;
  if (post) {
    if (path != "/api/request")
      return respond(wsi, s, 404, "application/json", error_json("no such endpoint"));
    if (!server.options().allow_requests)
      return respond(wsi, s, 403, "application/json",
                     error_json("requests are off (mqttsn-gwweb --allow-requests turns them on)"));
    s.reply = new Reply;  // the body arrives in LWS_CALLBACK_HTTP_BODY
    s.reply->awaiting_body = true;
    return 0;
  }
  if (path == "/api/clients") return respond_status(wsi, s, "clients");
  if (path == "/api/subscriptions") return respond_status(wsi, s, "subscriptions");
  if (path == "/api/stats") return respond_status(wsi, s, "stats");
  if (path == "/api/topics") {
    char buf[256];
    const char* id = lws_get_urlarg_by_name(wsi, "client=", buf, sizeof buf);
    std::string request = "topics";
    if (id && *id) request += std::string(" ") + id;
    if (request.find('\n') != std::string::npos)
      return respond(wsi, s, 400, "application/json", error_json("bad id"));
    return respond_status(wsi, s, request);
  }
  if (path == "/api/config")
    return respond(wsi, s, 200, "application/json",
                   nlohmann::json{{"allow_requests", server.options().allow_requests}}.dump());
  std::string_view name = path.substr(1);
  if (name.empty()) name = "index.html";
  std::string body;
  if (!read_asset(server.options().assets_dir, name, body))
    return respond(wsi, s, 404, "text/plain; charset=utf-8", "not found\n");
  if (!s.reply) s.reply = new Reply;
  if (from_query) {
    s.reply->cookie =
        std::string(kCookie) + "=" + server.options().token + "; Path=/; HttpOnly; SameSite=Strict";
    if (!server.options().tls_cert.empty()) s.reply->cookie += "; Secure";
  }
  return respond(wsi, s, 200, mime_of(name), std::move(body));
}

int on_post_complete(lws* wsi, HttpSession& s) {
  const auto j = nlohmann::json::parse(s.reply->post, nullptr, false);
  std::string request;
  if (j.is_object() && j.contains("request") && j["request"].is_string())
    request = j["request"].get<std::string>();
  if (!is_allowed_request(request))
    return respond(wsi, s, 400, "application/json",
                   error_json("allowed: kick CLIENT_ID, clear-buffer CLIENT_ID"));
  return respond_status(wsi, s, request);
}

int http_callback(lws* wsi, lws_callback_reasons reason, void* user, void* in, size_t len) {
  auto* s = static_cast<HttpSession*>(user);
  if (!s && reason != LWS_CALLBACK_CLOSED_HTTP && reason != LWS_CALLBACK_HTTP_DROP_PROTOCOL)
    return lws_callback_http_dummy(wsi, reason, user, in, len);
  switch (reason) {
    case LWS_CALLBACK_HTTP:
      return on_http_request(wsi, *s, std::string_view(static_cast<const char*>(in)));
    case LWS_CALLBACK_HTTP_BODY:
      // The body of a POST already answered (401, 403, 404) is read and ignored.
      if (!s->reply || !s->reply->awaiting_body) return 0;
      s->reply->post.append(static_cast<const char*>(in), len);
      return s->reply->post.size() > 4096 ? -1 : 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
      if (!s->reply || !s->reply->awaiting_body) return 0;
      s->reply->awaiting_body = false;
      return on_post_complete(wsi, *s);
    case LWS_CALLBACK_HTTP_WRITEABLE: {
      if (!s->reply) return -1;
      Reply& r = *s->reply;
      const std::size_t chunk = std::min<std::size_t>(r.body.size() - r.sent, 16384);
      std::string buf(LWS_PRE + chunk, '\0');
      std::memcpy(buf.data() + LWS_PRE, r.body.data() + r.sent, chunk);
      r.sent += chunk;
      const bool last = r.sent >= r.body.size();
      if (lws_write(wsi, reinterpret_cast<unsigned char*>(buf.data()) + LWS_PRE, chunk,
                    last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != static_cast<int>(chunk))
        return -1;
      if (!last) {
        lws_callback_on_writable(wsi);
        return 0;
      }
      delete s->reply;
      s->reply = nullptr;
      return lws_http_transaction_completed(wsi) ? -1 : 0;
    }
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
      // Also for a connection closed before its request (a port probe): no session data then.
      if (s) {
        delete s->reply;
        s->reply = nullptr;
      }
      break;
    default:
      break;
  }
  return lws_callback_http_dummy(wsi, reason, user, in, len);
}

// ---- WebSocket /trace: one `trace` status connection per browser, its lines through a bounded queue.

struct WsSession {
  TraceStream* trace;
  BoundedQueue* queue;
  std::uint64_t* reported_drops;
};

std::string sanitize_filter(std::string_view in) {
  std::string out;
  for (unsigned char c : in)
    if (c >= 0x20 && c != 0x7f && out.size() < 200) out.push_back(static_cast<char>(c));
  return out;
}

void queue_line(lws* wsi, WsSession& s, std::string line) {
  if (s.queue->push(std::move(line))) lws_callback_on_writable(wsi);
}

int trace_callback(lws* wsi, lws_callback_reasons reason, void* user, void* in, size_t len) {
  auto* s = static_cast<WsSession*>(user);
  switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
      bool from_query = false;
      char uri[64];
      const int n = lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI);
      if (n <= 0 || std::string_view(uri, static_cast<std::size_t>(n)) != "/trace") return 1;
      return authorized(wsi, from_query) ? 0 : 1;
    }
    case LWS_CALLBACK_ESTABLISHED: {
      WebServer& server = server_of(wsi);
      s->queue = new BoundedQueue(kWsQueueBytes);
      s->reported_drops = new std::uint64_t(0);
      s->trace = TraceStream::open(
          server.loop(), server.options().socket, "",
          [wsi, s](std::string line) { queue_line(wsi, *s, std::move(line)); },
          [wsi, s](std::string why) {
            s->trace = nullptr;  // it frees itself
            queue_line(wsi, *s, error_json(why));
          });
      break;
    }
    case LWS_CALLBACK_RECEIVE:
      // The page's filter box: the gateway filters, so unwanted lines never cross the socket.
      if (s->trace)
        s->trace->set_filter(sanitize_filter(std::string_view(static_cast<const char*>(in), len)));
      break;
    case LWS_CALLBACK_SERVER_WRITEABLE: {
      if (!s->queue || s->queue->empty()) break;
      std::string line;
      if (s->queue->dropped() != *s->reported_drops) {
        // Tell the page what it missed, once per change, ahead of the next line.
        *s->reported_drops = s->queue->dropped();
        line = nlohmann::json{{"companion_dropped", *s->reported_drops}}.dump();
      } else {
        line = s->queue->pop();
      }
      std::string buf(LWS_PRE, '\0');
      buf += line;
      if (lws_write(wsi, reinterpret_cast<unsigned char*>(buf.data()) + LWS_PRE, line.size(),
                    LWS_WRITE_TEXT) < static_cast<int>(line.size()))
        return -1;
      if (!s->queue->empty()) lws_callback_on_writable(wsi);
      break;
    }
    case LWS_CALLBACK_CLOSED:
    case LWS_CALLBACK_WSI_DESTROY:
      if (s && s->trace) s->trace->close();
      if (s) {
        s->trace = nullptr;
        delete s->queue;
        s->queue = nullptr;
        delete s->reported_drops;
        s->reported_drops = nullptr;
      }
      break;
    default:
      break;
  }
  return 0;
}

const lws_protocols kProtocols[] = {
    {"http", http_callback, sizeof(HttpSession), 0, 0, nullptr, 0},
    {"trace", trace_callback, sizeof(WsSession), 4096, 0, nullptr, 0},
    {nullptr, nullptr, 0, 0, 0, nullptr, 0},
};

}  // namespace

WebServer::WebServer(uv_loop_t* loop, WebOptions options, ListenAddress listen)
    : loop_(loop), options_(std::move(options)), listen_(std::move(listen)) {}

WebServer::~WebServer() {
  stop();
}

bool WebServer::start(std::string& error) {
  lws_set_log_level(LLL_ERR | LLL_WARN, nullptr);
  lws_context_creation_info info{};
  info.port = listen_.port;
  info.iface = listen_.host.empty() ? nullptr : listen_.host.c_str();
  info.protocols = kProtocols;
  info.user = this;
  // The companion's libuv loop is lws's loop too (libwebsockets-evlib-uv): the trace connections to
  // the status socket and the web clients share one thread without polling each other.
  void* foreign_loops[1] = {loop_};
  info.foreign_loops = foreign_loops;
  info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_VALIDATE_UTF8;
  if (!options_.tls_cert.empty()) {
    info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.ssl_cert_filepath = options_.tls_cert.c_str();
    info.ssl_private_key_filepath = options_.tls_key.c_str();
  }
  // The vhost separately: a context whose listening socket failed to bind is still created, and
  // only lws_create_vhost() says the listener failed.
  info.options |= LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
  context_ = lws_create_context(&info);
  if (!context_) {
    error = "cannot start libwebsockets on libuv (is libwebsockets-evlib-uv installed? lws said why above)";
    return false;
  }
  if (!lws_create_vhost(context_, &info)) {
    error = "cannot listen on " + options_.listen +
            " (address in use, or a TLS file unreadable; lws said why above)";
    return false;
  }
  return true;
}

void WebServer::stop() {
  if (!context_) return;
  lws_context_destroy(context_);
  context_ = nullptr;
}

}  // namespace mqttsn::web
