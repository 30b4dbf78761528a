// mqttsn-gwweb: the gateway's web page, a companion program beside mqttsn-gw. It reads only the
// status socket, so the daemon stays as small as it is and a bug here cannot stop a reading.
#include <uv.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>

#include <CLI/CLI.hpp>

#include "web/options.hpp"
#include "web/server.hpp"

#ifndef MQTTSN_WEB_ASSETS_DIR
#define MQTTSN_WEB_ASSETS_DIR "/usr/share/mqttsn-gw/web"
#endif

int main(int argc, char** argv) {
  using mqttsn::web::WebOptions;
  WebOptions o;
  o.assets_dir = MQTTSN_WEB_ASSETS_DIR;
  if (const char* env = std::getenv("MQTTSN_GW_SOCKET")) o.socket = env;
  CLI::App app{"mqttsn-gwweb: the mqttsn-gw web page (nodes, topics, counters, live packet trace)"};
  app.add_option("-s,--socket", o.socket, "the gateway's status socket (env MQTTSN_GW_SOCKET)")
      ->capture_default_str();
  app.add_option("--listen", o.listen, "ADDR:PORT to serve on; a non-loopback address needs TLS and a token")
      ->capture_default_str();
  app.add_option("--tls-cert", o.tls_cert, "PEM certificate (HTTPS and WSS)");
  app.add_option("--tls-key", o.tls_key, "PEM private key of --tls-cert");
  app.add_option("--token-file", o.token_file,
                 "file whose first line is the shared secret the browser sends");
  app.add_flag("--allow-requests", o.allow_requests,
               "show the kick and clear-buffer buttons and pass them on");
  app.add_option("--assets", o.assets_dir, "directory of index.html, app.css, app.js")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  mqttsn::web::ListenAddress listen;
  std::string error;
  if (!mqttsn::web::parse_listen(o.listen, listen, error) ||
      (!o.token_file.empty() && !mqttsn::web::read_token_file(o.token_file, o.token, error))) {
    std::fprintf(stderr, "mqttsn-gwweb: %s\n", error.c_str());
    return 2;
  }
  if (error = mqttsn::web::validate(o, listen); !error.empty()) {
    std::fprintf(stderr, "mqttsn-gwweb: refusing to start: %s\n", error.c_str());
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);

  uv_loop_t loop;
  uv_loop_init(&loop);
  mqttsn::web::WebServer server(&loop, o, listen);
  if (!server.start(error)) {
    std::fprintf(stderr, "mqttsn-gwweb: %s\n", error.c_str());
    return 1;
  }
  std::fprintf(stderr, "mqttsn-gwweb: serving %s://%s/ (status socket %s, requests %s)\n",
               o.tls_cert.empty() ? "http" : "https", o.listen.c_str(), o.socket.c_str(),
               o.allow_requests ? "allowed" : "off");

  uv_signal_t sigterm, sigint;
  for (auto [h, signum] : {std::pair{&sigterm, SIGTERM}, std::pair{&sigint, SIGINT}}) {
    uv_signal_init(&loop, h);
    uv_signal_start(
        h, [](uv_signal_t* s, int) { uv_stop(s->loop); }, signum);
  }
  uv_run(&loop, UV_RUN_DEFAULT);

  // lws closes its handles on our loop; the loop runs once more to let their callbacks finish.
  uv_close(reinterpret_cast<uv_handle_t*>(&sigterm), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&sigint), nullptr);
  server.stop();
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  std::fprintf(stderr, "mqttsn-gwweb: stopped\n");
  return 0;
}
