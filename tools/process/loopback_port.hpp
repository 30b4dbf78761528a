#pragma once
// Loopback TCP ports for the private brokers and gateways the tests and mqttsn-bench start: one free
// port to give a server, and whether a server listens on one yet.
namespace mqttsn {

// A TCP port on 127.0.0.1 nobody listens on right now (bound to port 0 and asked), or -1. Another
// process may take it before the caller's server binds it: callers retry, or fail with the server's
// log.
int free_loopback_port();

// Whether a TCP connect to 127.0.0.1:port succeeds now.
bool loopback_port_accepts(int port);

}  // namespace mqttsn
