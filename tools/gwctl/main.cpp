// mqttsn-gwctl: asks the running gateway through its status socket and prints the answer as a table
// (default) or as the raw JSON document (--json).
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "tools/gwctl/table.hpp"

namespace {

// One request line out, one JSON line back.
bool ask(const std::string& socket_path, const std::string& request, std::string& reply, std::string& error) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path) {
    error = "socket path too long: " + socket_path;
    ::close(fd);
    return false;
  }
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    error = "cannot connect to " + socket_path + ": " + std::strerror(errno) +
            (errno == ENOENT   ? " (is mqttsn-gw running? see --socket)"
             : errno == EACCES ? " (run as root or a member of the gateway's group)"
                               : "");
    ::close(fd);
    return false;
  }
  std::string line = request + "\n";
  if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    error = std::string("write: ") + std::strerror(errno);
    ::close(fd);
    return false;
  }
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    reply.append(buf, static_cast<std::size_t>(n));
    if (reply.back() == '\n') break;
  }
  ::close(fd);
  if (reply.empty()) {
    error = "no reply from " + socket_path;
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"mqttsn-gwctl: inspect a running mqttsn-gw through its status socket"};
  std::string socket_path = "/run/mqttsn-gw/status.sock";
  if (const char* env = std::getenv("MQTTSN_GW_SOCKET")) socket_path = env;
  bool json = false;
  app.add_option("-s,--socket", socket_path, "status socket path (env MQTTSN_GW_SOCKET)");
  app.add_flag("--json", json, "print the raw JSON reply");
  app.require_subcommand(1);

  std::string client_id;
  app.add_subcommand("clients", "connected, sleeping and kept clients");
  auto* topics = app.add_subcommand("topics", "every client's topic id mappings");
  topics->add_option("client_id", client_id, "only this client");
  app.add_subcommand("subscriptions", "subscription filters, their clients and upstream state");
  app.add_subcommand("stats", "every counter");
  app.add_subcommand("metrics", "counters in the Prometheus text format");
  app.add_subcommand("store", "the persistent store: kept sessions, queued messages, size");
  app.add_subcommand("version", "the gateway's version");
  // The operator's actions on one node (the same as the broker-side requests).
  std::string target;
  app.add_subcommand("node", "one node's description (as its broker-side document)")
      ->add_option("client_id", target, "the node")
      ->required();
  app.add_subcommand("kick", "disconnect a node (it is told DISCONNECT; no will; a kept session stays)")
      ->add_option("client_id", target, "the node")
      ->required();
  app.add_subcommand("clear-buffer", "drop the messages waiting in a node's downlink buffer")
      ->add_option("client_id", target, "the node")
      ->required();
  for (auto* sub : app.get_subcommands({})) sub->add_flag("--json", json, "print the raw JSON reply");
  CLI11_PARSE(app, argc, argv);

  const auto* sub = app.get_subcommands().front();
  std::string request = sub->get_name();
  if (request == "topics" && !client_id.empty()) request += " " + client_id;
  if (!target.empty()) request += " " + target;

  std::string reply, error;
  if (!ask(socket_path, request, reply, error)) {
    std::cerr << "mqttsn-gwctl: " << error << '\n';
    return 2;
  }
  nlohmann::ordered_json doc = nlohmann::ordered_json::parse(reply, nullptr, false);
  if (doc.is_discarded()) {
    std::cerr << "mqttsn-gwctl: the gateway sent something that is not JSON: " << reply;
    return 2;
  }
  if (doc.is_object() && doc.contains("error")) {
    std::cerr << "mqttsn-gwctl: " << doc["error"].get<std::string>() << '\n';
    return 1;
  }
  if (json)
    std::cout << doc.dump() << '\n';
  else
    mqttsn::gwctl::print_reply(std::cout, doc);
  return 0;
}
