#include "tools/bench/gateway_status.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "conf/config_loader.hpp"
#include "tools/bench/payload.hpp"

namespace mqttsn::bench {

namespace {
constexpr const char* kStoreCounters[] = {"syncs", "bytes_written", "commits", "rows_written"};
}  // namespace

std::optional<std::string> status_socket_from_config(const std::string& config_file, std::string& error) {
  const auto r = conf::load_config(config_file);
  if (!r.ok()) {
    error = config_file + " does not load: " + r.errors.front().to_string();
    return std::nullopt;
  }
  return r.config.status.socket.string();
}

nlohmann::json ask_status(const std::string& socket_path, const std::string& request, double timeout_s) {
  auto fail = [&](const std::string& what) { return nlohmann::json{{"error", socket_path + ": " + what}}; };
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path) return fail("path too long for a socket");
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(std::string("socket: ") + std::strerror(errno));
  std::string reply;
  std::string err;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    err = std::string("connect: ") + std::strerror(errno);
  } else {
    const std::string line = request + "\n";
    if (::send(fd, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) {
      err = std::string("send: ") + std::strerror(errno);
    } else {
      const auto end = now_ns() + static_cast<std::uint64_t>(timeout_s * 1e9);
      std::array<char, 4096> buf{};
      while (reply.empty() || reply.back() != '\n') {
        const auto now = now_ns();
        if (now >= end) {
          err = "no reply within the timeout";
          break;
        }
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>((end - now) / 1'000'000 + 1)) <= 0) continue;
        const auto n = ::recv(fd, buf.data(), buf.size(), 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        reply.append(buf.data(), static_cast<std::size_t>(n));
      }
    }
  }
  ::close(fd);
  if (!err.empty()) return fail(err);
  auto j = nlohmann::json::parse(reply, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail("reply is not a JSON object");
  return j;
}

nlohmann::json store_counters(const std::string& socket_path) {
  const auto r = ask_status(socket_path, "store");
  if (r.contains("error")) return r;
  if (!r.contains("store") || !r["store"].is_object()) return {{"error", "no store object in the reply"}};
  const auto& s = r["store"];
  nlohmann::json out = {{"state", s.value("state", nlohmann::json())}};
  for (const char* k : kStoreCounters) out[k] = s.contains(k) && s[k].is_number() ? s[k] : nlohmann::json();
  return out;
}

std::optional<std::uint64_t> heap_in_use(const std::string& socket_path) {
  const auto r = ask_status(socket_path, "stats");
  if (!r.contains("memory") || !r["memory"].contains("heap_in_use_bytes") ||
      !r["memory"]["heap_in_use_bytes"].is_number())
    return std::nullopt;
  return r["memory"]["heap_in_use_bytes"].get<std::uint64_t>();
}

nlohmann::json counter_deltas(const nlohmann::json& before, const nlohmann::json& after) {
  nlohmann::json d = nlohmann::json::object();
  for (const char* k : kStoreCounters) {
    const bool both = before.is_object() && after.is_object() && before.contains(k) && after.contains(k) &&
                      before[k].is_number() && after[k].is_number();
    if (!both)
      d[k] = nullptr;
    else if (before[k].is_number_integer() && after[k].is_number_integer())
      d[k] = after[k].get<std::int64_t>() - before[k].get<std::int64_t>();
    else
      d[k] = after[k].get<double>() - before[k].get<double>();
  }
  return d;
}

}  // namespace mqttsn::bench
