// Durations and placeholders (the small value parsers the loader relies on) and the summary.
#include <doctest/doctest.h>

#include "conf/config_loader.hpp"
#include "conf/duration.hpp"
#include "conf/placeholders.hpp"
#include "conf/summary.hpp"

using namespace mqttsn::conf;
using namespace std::chrono_literals;

TEST_CASE("duration: units, sums, and refusals") {
  CHECK(parse_duration("250ms") == Duration(250));
  CHECK(parse_duration("30s") == Duration(30s));
  CHECK(parse_duration("15m") == Duration(15min));
  CHECK(parse_duration("2h") == Duration(2h));
  CHECK(parse_duration("1m30s") == Duration(90s));
  CHECK(parse_duration("0s") == Duration(0));
  CHECK_FALSE(parse_duration(""));
  CHECK_FALSE(parse_duration("30"));  // no unit
  CHECK_FALSE(parse_duration("abc"));
  CHECK_FALSE(parse_duration("1.5s"));  // whole numbers only
  CHECK_FALSE(parse_duration("-1s"));
  CHECK_FALSE(parse_duration("5 s"));
  CHECK(parse_duration("3d") == Duration(72h));
  CHECK(parse_duration("1d12h") == Duration(36h));
  CHECK_FALSE(parse_duration("3w"));
  CHECK_FALSE(parse_duration("99999999999999999999h"));  // overflow is refused, not wrapped
}

TEST_CASE("duration: format_duration reads back") {
  CHECK(format_duration(Duration(90500)) == "1m30s500ms");
  CHECK(format_duration(Duration(0)) == "0s");
  CHECK(format_duration(2h) == "2h");
  CHECK(format_duration(168h) == "7d");
  CHECK(format_duration(36h) == "1d12h");
  for (auto d : {Duration(1), Duration(61001), Duration(3600000 * 5 + 7)})
    CHECK(parse_duration(format_duration(d)) == d);
}

namespace {
const PlaceholderValues kUpstream{.host_name = "pi", .gateway_id = 7};
const PlaceholderValues kPattern{.client_id = std::string_view()};
}  // namespace

TEST_CASE("placeholders: %h, %g and %% expand in one pass") {
  CHECK(expand_placeholders("gw-%h-%g", kUpstream) == "gw-pi-7");
  CHECK(expand_placeholders("100%%", kUpstream) == "100%");
  // %% becomes one literal '%' that is not read again: "%%h" is "%h", not the host name.
  CHECK(expand_placeholders("gw-%%h-%g", {.host_name = "pi", .gateway_id = 1}) == "gw-%h-1");
  CHECK(expand_placeholders("%%%%%h", kUpstream) == "%%pi");
  // Nor is a '%' that a value brings along.
  CHECK(expand_placeholders("gw-%h", {.host_name = "a%gb", .gateway_id = 3}) == "gw-a%gb");
  CHECK(expand_placeholders("no placeholders", kUpstream) == "no placeholders");
  CHECK(expand_placeholders("", kUpstream).empty());
}

TEST_CASE("placeholders: %c and %u are the client id where one applies") {
  CHECK(expand_placeholders("s/%c/%u", {.client_id = "n1"}) == "s/n1/n1");
  CHECK(expand_placeholders("s/%c", {.client_id = "x%c"}) == "s/x%c");
  CHECK(expand_placeholders("s/%%c", {.client_id = "n1"}) == "s/%c");
  CHECK(uses_client_id("s/%c"));
  CHECK(uses_client_id("%u"));
  CHECK_FALSE(uses_client_id("s/%%c"));
  CHECK_FALSE(uses_client_id("s/%h/%%"));
  // Where no client id applies, %c is a problem, and left as written if expanded anyway.
  CHECK(expand_placeholders("gw-%c", kUpstream) == "gw-%c");
}

TEST_CASE("placeholders: unknown, misplaced and dangling ones are problems that name what is valid") {
  CHECK_FALSE(placeholder_problem("mqttsn-gw-%h-%g-100%%", kUpstream));
  CHECK_FALSE(placeholder_problem("sensors/%c/%u/%%", kPattern));
  CHECK(placeholder_problem("a%", kUpstream) == "a '%' at the end; write %% for a percent sign");
  CHECK(placeholder_problem("gw-%x", kUpstream) ==
        "unknown placeholder '%x'; valid: %h (host name), %g (gateway id), %%");
  CHECK(placeholder_problem("gw-%c", kUpstream) ==
        "'%c' (client id) does not apply here; valid: %h (host name), %g (gateway id), %%");
  CHECK(placeholder_problem("s/%h", kPattern) ==
        "'%h' (host name) does not apply here; valid: %c and %u (client id), %%");
  CHECK(placeholder_problem("s/%G", kPattern) ==
        "unknown placeholder '%G'; valid: %c and %u (client id), %%");
  // "%%" hides what follows it: "%%x" is a percent sign and an x.
  CHECK_FALSE(placeholder_problem("%%x", kUpstream));
}

TEST_CASE("placeholders: the local host name is never empty") {
  CHECK_FALSE(local_host_name().empty());
}

TEST_CASE("summary: describe_config names links, upstream and access without secrets") {
  const auto r = parse_config(R"([[link]]
kind = "xbee"
device = "/dev/ttyUSB0"
[[link]]
kind = "udp"
enabled = false
[upstream]
username = "gw"
password_env = "GW_PW"
)",
                              "/etc/mqttsn-gw/gateway.toml");
  REQUIRE_MESSAGE(r.ok(), to_string(r.errors));
  const auto text = describe_config(r.config);
  CHECK(text.find("link xbee0 (xbee): /dev/ttyUSB0 9600 8N1 flow=none api=2 mtu=84\n") != std::string::npos);
  CHECK(text.find("link udp1 (udp, disabled): 0.0.0.0:10000 advertise to 255.255.255.255:10000\n") !=
        std::string::npos);
  CHECK(text.find("user gw, password from $GW_PW") != std::string::npos);
  CHECK(text.find("status socket /run/mqttsn-gw/status.sock (mode 0660)") != std::string::npos);
}
