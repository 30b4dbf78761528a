#include "web/webdriver.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstring>

namespace mqttsn::test {

HttpResult http_request(int port, const std::string& method, const std::string& path, const std::string& body,
                        const std::string& extra_headers) {
  HttpResult r;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return r;
  timeval tv{60, 0};  // a browser start or a screenshot takes a few seconds under load
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return r;
  }
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                    "\r\nConnection: close\r\n" + extra_headers;
  if (!body.empty() || method == "POST")
    req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    ::close(fd);
    return r;
  }
  std::string raw;
  char buf[65536];
  ssize_t n;
  // Until the body's Content-Length is in (chromedriver keeps the connection open despite "close"),
  // or the peer closes.
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) {
    raw.append(buf, static_cast<std::size_t>(n));
    const auto head_end = raw.find("\r\n\r\n");
    if (head_end == std::string::npos) continue;
    std::string head = raw.substr(0, head_end);
    for (auto& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const auto cl = head.find("\r\ncontent-length:");
    if (cl != std::string::npos && raw.size() - head_end - 4 >= std::stoul(head.substr(cl + 17))) break;
  }
  ::close(fd);
  const auto end = raw.find("\r\n\r\n");
  if (end == std::string::npos || raw.size() < 12) return r;
  r.status = std::atoi(raw.c_str() + 9);
  r.headers = raw.substr(0, end);
  r.body = raw.substr(end + 4);
  // Chunked bodies (chromedriver answers with a length, but be safe): join the chunks.
  if (r.headers.find("chunked") != std::string::npos) {
    std::string joined;
    std::size_t pos = 0;
    while (pos < r.body.size()) {
      const auto eol = r.body.find("\r\n", pos);
      if (eol == std::string::npos) break;
      const auto size = std::stoul(r.body.substr(pos, eol - pos), nullptr, 16);
      if (size == 0) break;
      joined += r.body.substr(eol + 2, size);
      pos = eol + 2 + size + 2;
    }
    r.body = joined;
  }
  return r;
}

std::string base64_decode(const std::string& in) {
  std::string out;
  unsigned value = 0;
  int bits = -8;
  for (unsigned char c : in) {
    int d;
    if (c >= 'A' && c <= 'Z')
      d = c - 'A';
    else if (c >= 'a' && c <= 'z')
      d = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      d = c - '0' + 52;
    else if (c == '+')
      d = 62;
    else if (c == '/')
      d = 63;
    else
      continue;  // '=' and line breaks
    value = (value << 6) | static_cast<unsigned>(d);
    bits += 6;
    if (bits >= 0) {
      out.push_back(static_cast<char>((value >> bits) & 0xff));
      bits -= 8;
    }
  }
  return out;
}

nlohmann::json WebDriver::command(const std::string& method, const std::string& path,
                                  const nlohmann::json& body) {
  const auto r = http_request(port_, method, path, body.is_null() ? std::string() : body.dump());
  if (r.status == 0) {
    error_ = "chromedriver did not answer " + method + " " + path;
    return nullptr;
  }
  const auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (r.status != 200 || j.is_discarded() || !j.contains("value")) {
    error_ = method + " " + path + ": HTTP " + std::to_string(r.status) + ": " + r.body.substr(0, 2000);
    return nullptr;
  }
  return j["value"];
}

bool WebDriver::start(const std::string& chromium_binary) {
  const nlohmann::json caps = {
      {"capabilities",
       {{"alwaysMatch",
         {{"browserName", "chrome"},
          {"goog:chromeOptions",
           {{"binary", chromium_binary},
            {"args",
             {"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1400,1500", "--no-first-run", "--disable-extensions"}}}}}}}}};
  const auto v = command("POST", "/session", caps);
  if (!v.is_object() || !v.contains("sessionId")) return false;
  session_ = v["sessionId"].get<std::string>();
  return true;
}

bool WebDriver::navigate(const std::string& url) {
  error_.clear();
  return !command("POST", "/session/" + session_ + "/url", {{"url", url}}).is_discarded() && error_.empty();
}

nlohmann::json WebDriver::execute(const std::string& script) {
  error_.clear();
  return command("POST", "/session/" + session_ + "/execute/sync",
                 {{"script", script}, {"args", nlohmann::json::array()}});
}

std::string WebDriver::screenshot_png() {
  const auto v = command("GET", "/session/" + session_ + "/screenshot", nullptr);
  return v.is_string() ? base64_decode(v.get<std::string>()) : std::string();
}

WebDriver::~WebDriver() {
  if (!session_.empty()) command("DELETE", "/session/" + session_, nullptr);
}

}  // namespace mqttsn::test
