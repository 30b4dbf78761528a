#pragma once
// "Does host:port of this URI accept TCP connections?", asked without blocking the loop. Paho reports
// a failed TLS host-name check only as "TCP/TLS connect failure" (no OpenSSL error text), the same as
// a refused TCP connection; this probe tells the two apart so the log and the state say which.
#include <uv.h>

#include <functional>
#include <string>

namespace mqttsn::bridge {

// Calls `done(true)` when a TCP connection to the URI's host and port succeeds, `done(false)` when
// it fails or the URI cannot be parsed. `done` runs on the loop, later (never inside this call).
void probe_tcp(uv_loop_t* loop, const std::string& uri, std::function<void(bool accepts)> done);

}  // namespace mqttsn::bridge
