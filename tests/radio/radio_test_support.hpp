#pragma once
// Helpers for the radio tests: the shared test vectors, a raw pseudo-terminal pair standing in for
// the radio, and a way to drive a libuv loop until a condition holds (with a timeout, no sleeps).
#include <fcntl.h>
#include <pty.h>
#include <termios.h>
#include <unistd.h>
#include <uv.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <functional>
#include <map>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace radio_test {

using ByteVec = std::vector<std::uint8_t>;

struct Vector {
  std::string name;
  ByteVec bytes;
  std::string description;
  std::string invalid_reason;  // empty for valid vectors: "bad-checksum", "truncated", ...
};

inline std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  const auto e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

inline ByteVec parse_hex(const std::string& text) {
  ByteVec out;
  std::istringstream in(text);
  std::string tok;
  while (in >> tok) out.push_back(static_cast<std::uint8_t>(std::stoul(tok, nullptr, 16)));
  return out;
}

inline std::vector<Vector> load_vectors() {
  std::ifstream f(std::string(MQTTSN_TEST_DATA_DIR) + "/mqttsn-vectors.txt");
  if (!f) throw std::runtime_error("cannot open mqttsn-vectors.txt");
  std::vector<Vector> out;
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> parts;
    std::size_t start = 0;
    for (int i = 0; i < 3; ++i) {  // name | hex | description [| invalid: reason]
      const auto bar = line.find(" | ", start);
      if (bar == std::string::npos) break;
      parts.push_back(line.substr(start, bar - start));
      start = bar + 3;
    }
    parts.push_back(line.substr(start));
    if (parts.size() < 3) continue;
    Vector v;
    v.name = trim(parts[0]);
    v.bytes = parse_hex(parts[1]);
    v.description = trim(parts[2]);
    if (parts.size() >= 4) {
      const std::string inv = trim(parts[3]);
      const std::string key = "invalid: ";
      if (inv.rfind(key, 0) == 0) {
        const std::string rest = inv.substr(key.size());
        v.invalid_reason = rest.substr(0, rest.find(' '));
      }
    }
    out.push_back(std::move(v));
  }
  return out;
}

inline const Vector& vector_named(const std::string& name) {
  static const std::vector<Vector> all = load_vectors();
  for (const auto& v : all)
    if (v.name == name) return v;
  throw std::runtime_error("no vector " + name);
}

// "Src64=0013A2... Opts=0x01(acked) ..." -> {"Src64": "0013A2...", "Opts": "0x01"}: values cut at
// '(' so the readable names in parentheses drop out. Only the part before "::" (the outer frame).
inline std::map<std::string, std::string> fields(const std::string& description) {
  std::map<std::string, std::string> out;
  const std::string outer = description.substr(0, description.find("::"));
  std::istringstream in(outer);
  std::string tok;
  while (in >> tok) {
    const auto eq = tok.find('=');
    if (eq == std::string::npos) continue;
    std::string value = tok.substr(eq + 1);
    value = value.substr(0, value.find('('));
    out[tok.substr(0, eq)] = value;
  }
  return out;
}

inline std::uint64_t hex_value(const std::string& s) {
  return std::stoull(s, nullptr, 16);
}

// A raw pseudo-terminal pair: the test plays the radio on the master side.
struct Pty {
  int master = -1;
  int slave = -1;
  std::string slave_path;

  Pty() {
    struct termios t {};
    cfmakeraw(&t);
    char name[256] = {};
    if (openpty(&master, &slave, name, &t, nullptr) != 0) throw std::runtime_error("openpty");
    slave_path = name;
    fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
  }
  ~Pty() { close_all(); }
  Pty(const Pty&) = delete;
  Pty& operator=(const Pty&) = delete;

  void close_all() {
    if (master >= 0) ::close(master);
    if (slave >= 0) ::close(slave);
    master = slave = -1;
  }
  void write(std::span<const std::uint8_t> bytes) const {
    std::size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::write(master, bytes.data() + done, bytes.size() - done);
      if (n < 0) throw std::runtime_error("pty write failed");
      done += static_cast<std::size_t>(n);
    }
  }
  // Appends whatever the link wrote so far.
  void read_into(ByteVec& out) const {
    std::uint8_t buf[4096];
    for (;;) {
      const ssize_t n = ::read(master, buf, sizeof buf);
      if (n <= 0) return;
      out.insert(out.end(), buf, buf + n);
    }
  }
};

// Owns a loop; on destruction runs it until the links' closed handles are freed.
struct Loop {
  uv_loop_t loop{};
  Loop() { uv_loop_init(&loop); }
  ~Loop() {
    for (int i = 0; i < 100 && uv_run(&loop, UV_RUN_NOWAIT) != 0; ++i) {
    }
    uv_loop_close(&loop);
  }
  uv_loop_t* get() { return &loop; }
};

// Runs the loop until pred() holds or the timeout passes. A short repeating timer makes each
// UV_RUN_ONCE return promptly so the predicate is re-checked (and the pty master can be read).
inline bool run_until(uv_loop_t* loop, const std::function<bool()>& pred,
                      std::chrono::milliseconds timeout = std::chrono::milliseconds(3000)) {
  uv_timer_t tick;
  uv_timer_init(loop, &tick);
  uv_timer_start(
      &tick, [](uv_timer_t*) {}, 2, 2);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool ok = pred();
  while (!ok && std::chrono::steady_clock::now() < deadline) {
    uv_run(loop, UV_RUN_ONCE);
    ok = pred();
  }
  uv_timer_stop(&tick);
  uv_close(reinterpret_cast<uv_handle_t*>(&tick), nullptr);
  uv_run(loop, UV_RUN_NOWAIT);  // let the tick's close finish before it leaves scope
  return ok;
}

}  // namespace radio_test
