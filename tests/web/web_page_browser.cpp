// The web page in a real browser: mosquitto, mqttsn-gw with a UDP link, simulated nodes (four
// publishing, one asleep), mqttsn-gwweb with a token, and headless Chromium driven through
// chromedriver. The DOM must list the nodes with their states, show a topic mapping, and receive a
// PUBLISH on the live trace; a screenshot is kept in the build tree (tests/web/web-page.png).
// Chromium missing is a failure, not a skip: scripts/install-deps.sh installs it.
#include <doctest/doctest.h>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "e2e/e2e_child.hpp"
#include "e2e/e2e_config.hpp"
#include "e2e/e2e_nodes.hpp"
#include "e2e/gateway_process.hpp"
#include "support/mosquitto_broker.hpp"
#include "tools/process/loopback_port.hpp"
#include "web/webdriver.hpp"

using namespace std::chrono_literals;
using mqttsn::e2e::ChildProcess;
using mqttsn::test::GatewayProcess;
using mqttsn::test::MosquittoBroker;
using mqttsn::test::WebDriver;

namespace {

const char* kChromium = "/usr/bin/chromium";
const char* kChromedriver = "/usr/bin/chromedriver";
const std::string kBuild = MQTTSN_BINARY_DIR;
const std::string kAssets = MQTTSN_WEB_ASSETS_SOURCE_DIR;

bool wait_port(int port, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (mqttsn::loopback_port_accepts(port)) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

// Polls the page until `script` returns true (or the time is up); returns its last result.
nlohmann::json wait_page(WebDriver& wd, const std::string& script, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  nlohmann::json v;
  do {
    v = wd.execute(script);
    if (v == true) return v;
    std::this_thread::sleep_for(250ms);
  } while (std::chrono::steady_clock::now() < end);
  return v;
}

}  // namespace

TEST_CASE("the web page in headless Chromium shows the nodes, a mapping and the live trace") {
  REQUIRE_MESSAGE(::access(kChromium, X_OK) == 0, "chromium is not installed: bash scripts/install-deps.sh");
  REQUIRE_MESSAGE(::access(kChromedriver, X_OK) == 0,
                  "chromium-driver is not installed: bash scripts/install-deps.sh");

  MosquittoBroker broker;
  const std::uint16_t udp = mqttsn::e2e::free_udp_port();
  mqttsn::e2e::GatewayToml cfg{.broker_uri = broker.uri(), .udp_port = udp};
  GatewayProcess gw(cfg.to_toml(), "web-page");
  REQUIRE_MESSAGE(gw.start(), gw.log());
  REQUIRE_MESSAGE(gw.wait_upstream_connected(), gw.log());

  const std::string sim = kBuild + "/tools/sim/mqttsn-sim";
  const std::string to = "127.0.0.1:" + std::to_string(udp);
  ChildProcess sensors(
      {sim, "--udp", to, "-n", "5", "--client-id", "field-sensor%n", "-t", "field/%n/temperature", "-q", "1",
       "-p", "700ms", "-s", "cmd/field-sensor%n/#", "-d", "300s"},
      gw.dir().file("sensors.log"));
  ChildProcess sleeper({sim, "--udp", to, "-n", "1", "--client-id", "field-sleeper", "-t",
                        "field/sleeper/battery", "-q", "1", "-p", "1s", "--sleep", "300s", "-d", "300s"},
                       gw.dir().file("sleeper.log"));
  REQUIRE_MESSAGE(gw.wait_status(
                      "clients",
                      [](const nlohmann::json& j) {
                        int active = 0, asleep = 0;
                        for (const auto& c : j["clients"]) {
                          active += c["state"] == "active";
                          asleep += c["state"] == "asleep";
                        }
                        return active == 5 && asleep == 1;
                      },
                      20s),
                  (gw.status("clients").dump() + "\n" + sensors.log() + sleeper.log()));

  // The companion, with a token: the page is loaded once with ?token=, then works from its cookie.
  const int http = mqttsn::free_loopback_port();
  const std::string token = "t0ken-for-the-test";
  gw.dir().write("token", token + "\n");
  ChildProcess web({kBuild + "/web/mqttsn-gwweb", "--socket", gw.socket_path(), "--listen",
                    "127.0.0.1:" + std::to_string(http), "--assets", kAssets, "--token-file",
                    gw.dir().file("token"), "--allow-requests"},
                   gw.dir().file("gwweb.log"));
  REQUIRE_MESSAGE(wait_port(http, 10s), web.log());
  CHECK_MESSAGE(mqttsn::test::http_request(http, "GET", "/api/clients").status == 401, web.log());
  const auto authed =
      mqttsn::test::http_request(http, "GET", "/api/clients", {}, "Authorization: Bearer " + token + "\r\n");
  CHECK(authed.status == 200);
  CHECK(authed.body.find("field-sleeper") != std::string::npos);

  const int wd_port = mqttsn::free_loopback_port();
  ChildProcess driver({kChromedriver, "--port=" + std::to_string(wd_port)},
                      gw.dir().file("chromedriver.log"));
  REQUIRE_MESSAGE(wait_port(wd_port, 20s), driver.log());
  WebDriver wd(wd_port);
  REQUIRE_MESSAGE(wd.start(kChromium), wd.error());
  REQUIRE_MESSAGE(wd.navigate("http://127.0.0.1:" + std::to_string(http) + "/?token=" + token), wd.error());

  // Nodes with their states, as data attributes the page sets from the status socket's clients.
  const auto nodes = wait_page(wd, R"(
      const rows = [...document.querySelectorAll('#nodes tbody tr')];
      const states = rows.map(r => r.dataset.client + '=' + r.dataset.state + '=' +
                                   r.querySelector('.pill').textContent);
      const active = states.filter(s => /^field-sensor\d=active=active$/.test(s)).length;
      const asleep = states.filter(s => s === 'field-sleeper=asleep=asleep').length;
      return active === 5 && asleep === 1 ? true : states;)",
                               20s);
  CHECK_MESSAGE(nodes == true, (nodes.dump() + " " + wd.error()));

  // The selected node's topic mapping (the first node is selected at start).
  const auto mapping = wait_page(wd, R"(
      const t = [...document.querySelectorAll('#topics tbody tr')].map(r => r.textContent);
      return t.some(x => /^1normalfield\/\d\/temperatureyes$/.test(x)) ? true : t;)",
                                 10s);
  CHECK_MESSAGE(mapping == true, (mapping.dump() + " " + wd.error()));

  // A node's subscription, beside its mappings.
  const auto subs = wait_page(wd, R"(
      const s = [...document.querySelectorAll('#subs tbody tr')].map(r => r.dataset.filter);
      return s.some(f => /^cmd\/field-sensor\d\/#$/.test(f)) ? true : s;)",
                              10s);
  CHECK_MESSAGE(subs == true, (subs.dump() + " " + wd.error()));

  // The live trace over the WebSocket: a PUBLISH from a node, with its client id.
  const auto trace = wait_page(wd, R"(
      const rows = [...document.querySelectorAll('#trace tbody tr')];
      return rows.some(r => r.dataset.type === 'PUBLISH' && r.className === 'dir-in' &&
                            /^field-(sensor\d|sleeper)$/.test(r.children[4].textContent))
          ? true : rows.slice(0, 5).map(r => r.textContent);)",
                               15s);
  CHECK_MESSAGE(trace == true, (trace.dump() + " " + wd.error() + "\n" + web.log()));

  // The filter box narrows the trace at the gateway: only the sleeper's packets arrive afterwards.
  const auto filtered = wait_page(wd, R"(
      const box = document.querySelector('#trace-filter');
      if (box.value !== 'field-sleeper') {
        box.value = 'field-sleeper';
        box.dispatchEvent(new Event('input'));
        document.querySelector('#trace-clear').click();
        window.__cleared = Date.now();
        return false;
      }
      if (Date.now() - window.__cleared < 1500) {  // lines already on their way before the filter
        document.querySelector('#trace-clear').click();
        return false;
      }
      const rows = [...document.querySelectorAll('#trace tbody tr')];
      return document.querySelector('#trace-status').textContent.includes('field-sleeper') &&
             rows.every(r => r.children[4].textContent === 'field-sleeper') ? true
          : [document.querySelector('#trace-status').textContent, rows.slice(0, 3).map(r => r.textContent)];)",
                                  15s);
  CHECK_MESSAGE(filtered == true, (filtered.dump() + " " + wd.error()));

  // Counters and their charts: the upstream state and at least two samples drawn.
  const auto upstream =
      wait_page(wd,
                "return document.querySelector('#upstream').textContent === "
                "'upstream connected' && document.querySelectorAll('#charts canvas').length >= 4;",
                10s);
  CHECK(upstream == true);

  // Requests are on: the kick button's reply text is shown, whatever the daemon says to it.
  const auto kick = wait_page(wd, R"(
      const b = document.querySelector('#nodes tbody tr[data-client="field-sensor1"] .verb-kick');
      const out = document.querySelector('#request-reply').textContent;
      if (!out && b) b.click();
      return /^kick field-sensor1: \{/.test(out) ? true : out;)",
                              10s);
  CHECK_MESSAGE(kick == true, (kick.dump() + " " + wd.error()));

  // The whole trace again for the screenshot, and a few more chart samples (WEB_SCREENSHOT_WAIT_S: more, for
  // the README's).
  wd.execute(R"(const box = document.querySelector('#trace-filter');
                box.value = ''; box.dispatchEvent(new Event('input')); return true;)");
  const char* wait_s = std::getenv("WEB_SCREENSHOT_WAIT_S");
  std::this_thread::sleep_for(std::chrono::seconds(wait_s ? std::atoi(wait_s) : 3));
  const std::string png = wd.screenshot_png();
  CHECK_MESSAGE(png.size() > 1000, wd.error());
  const std::string shot = kBuild + "/tests/web/web-page.png";
  std::ofstream(shot, std::ios::binary) << png;
  MESSAGE("screenshot: " << shot);
}
