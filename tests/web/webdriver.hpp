#pragma once
// Just enough of the W3C WebDriver protocol (chromedriver's HTTP API) to drive a headless Chromium
// from a test: a session, navigation, a script's result, a screenshot. Plain HTTP/1.1 over loopback.
#include <string>

#include <nlohmann/json.hpp>

namespace mqttsn::test {

struct HttpResult {
  int status = 0;  // 0: no answer
  std::string headers;
  std::string body;
};

// One HTTP/1.1 request to 127.0.0.1:port with Connection: close.
HttpResult http_request(int port, const std::string& method, const std::string& path,
                        const std::string& body = {}, const std::string& extra_headers = {});

std::string base64_decode(const std::string& in);

class WebDriver {
 public:
  explicit WebDriver(int port) : port_(port) {}
  ~WebDriver();  // ends the session: chromedriver closes the browser
  WebDriver(const WebDriver&) = delete;
  WebDriver& operator=(const WebDriver&) = delete;

  // A headless Chromium session; false with error() set when chromedriver refused.
  bool start(const std::string& chromium_binary);
  bool navigate(const std::string& url);
  // The value of `return ...;` run in the page; JSON null (and error()) when the script failed.
  nlohmann::json execute(const std::string& script);
  std::string screenshot_png();  // empty on failure
  const std::string& error() const { return error_; }

 private:
  nlohmann::json command(const std::string& method, const std::string& path, const nlohmann::json& body);
  int port_;
  std::string session_;
  std::string error_;
};

}  // namespace mqttsn::test
