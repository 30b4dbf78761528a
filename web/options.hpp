#pragma once
// mqttsn-gwweb's settings and the rules they must obey before anything listens: the page is for the
// loopback interface unless it is both encrypted and behind a token.
#include <cstdint>
#include <string>

namespace mqttsn::web {

struct WebOptions {
  std::string socket = "/run/mqttsn-gw/status.sock";
  std::string listen = "127.0.0.1:8080";
  std::string tls_cert;
  std::string tls_key;
  std::string token_file;
  std::string token;  // read from token_file
  bool allow_requests = false;
  std::string assets_dir;
};

struct ListenAddress {
  std::string host;
  std::uint16_t port = 0;
};

// "ADDR:PORT", "[v6]:PORT" or ":PORT" (all interfaces). False with `error` set when malformed.
bool parse_listen(const std::string& text, ListenAddress& out, std::string& error);

// 127.0.0.0/8, ::1 and "localhost": reachable from this machine only.
bool is_loopback(const std::string& host);

// The first line of the file, trailing whitespace removed. False with `error` when unreadable or empty.
bool read_token_file(const std::string& path, std::string& token, std::string& error);

// Empty when the options may run; else why not (exit status 2). Needs the token already read.
std::string validate(const WebOptions& options, const ListenAddress& listen);

}  // namespace mqttsn::web
