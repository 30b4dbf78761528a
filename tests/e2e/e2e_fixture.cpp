// The end-to-end fixture itself: a gateway that cannot start is reported at once (not after the
// start timeout), and a sanitizer report in the gateway's log is found (so the sanitized build's
// end-to-end runs fail on one).
#include <doctest/doctest.h>

#include <chrono>

#include "e2e/gateway_process.hpp"

using mqttsn::test::GatewayProcess;
using namespace std::chrono_literals;

TEST_CASE(
    "GatewayProcess: a configuration the gateway refuses fails start() at once, with the reason in the log") {
  GatewayProcess gw("[gateway]\nid = 1\nno_such_key = 3\n", "e2e-fixture");
  const auto t0 = std::chrono::steady_clock::now();
  CHECK_FALSE(gw.start(10s));
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);
  CHECK_MESSAGE(gw.log().find("no_such_key") != std::string::npos, gw.log());
  CHECK_FALSE(gw.running());
}

TEST_CASE("GatewayProcess: sanitizer reports in the gateway's log are found") {
  GatewayProcess gw("", "e2e-fixture");
  CHECK(gw.sanitizer_report().empty());
  for (const char* line : {"==42==ERROR: AddressSanitizer: heap-use-after-free on address 0x6020",
                           "gateway/core/x.cpp:3:5: runtime error: signed integer overflow",
                           "==42==ERROR: LeakSanitizer: detected memory leaks"}) {
    CAPTURE(line);
    gw.dir().write("gateway.log",
                   std::string("12:00:00.000 notice  starting\n") + line + "\n    #0 0x1 in f\n");
    const auto report = gw.sanitizer_report();
    CHECK(report.starts_with(line));
    CHECK(report.find("#0 0x1 in f") != std::string::npos);
  }
  gw.dir().write("gateway.log", "");  // or the destructor fails this test
}
