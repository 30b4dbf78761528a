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
  CHECK_FALSE(parse_duration("3d"));
  CHECK_FALSE(parse_duration("99999999999999999999h"));  // overflow is refused, not wrapped
}

TEST_CASE("duration: format_duration reads back") {
  CHECK(format_duration(Duration(90500)) == "1m30s500ms");
  CHECK(format_duration(Duration(0)) == "0s");
  CHECK(format_duration(2h) == "2h");
  for (auto d : {Duration(1), Duration(61001), Duration(3600000 * 5 + 7)})
    CHECK(parse_duration(format_duration(d)) == d);
}

TEST_CASE("placeholders: %h, %g and %% expand, others are problems") {
  CHECK(expand_placeholders("gw-%h-%g", "pi", 7) == "gw-pi-7");
  CHECK(expand_placeholders("100%%", "pi", 7) == "100%");
  CHECK_FALSE(placeholder_problem("mqttsn-gw-%h"));
  CHECK(placeholder_problem("a%") == "a '%' at the end; write %% for a percent sign");
  CHECK(placeholder_problem("%c").has_value());
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
