// Byte sizes ("4M" or an integer) and the uplink in-flight limit: parsed, defaulted and range-checked.
#include <doctest/doctest.h>

#include <string>

#include "conf/config_loader.hpp"

using namespace mqttsn::conf;

namespace {

LoadResult parse_udp(const std::string& extra) {
  return parse_config("[[link]]\nkind = \"udp\"\n" + extra, "/etc/mqttsn-gw/t.toml");
}

std::uint32_t receive_buffer_of(const LoadResult& r) {
  REQUIRE_MESSAGE(r.ok(), to_string(r.errors));
  return std::get<UdpLinkConfig>(r.config.links.at(0).settings).receive_buffer;
}

}  // namespace

TEST_CASE("config: udp receive_buffer defaults to 2 MiB and takes bytes or a K/M suffix") {
  CHECK(receive_buffer_of(parse_udp("")) == 2u * 1024 * 1024);
  CHECK(receive_buffer_of(parse_udp("receive_buffer = 0\n")) == 0);
  CHECK(receive_buffer_of(parse_udp("receive_buffer = 300000\n")) == 300000);
  CHECK(receive_buffer_of(parse_udp("receive_buffer = \"4M\"\n")) == 4u * 1024 * 1024);
  CHECK(receive_buffer_of(parse_udp("receive_buffer = \"512K\"\n")) == 512u * 1024);
  CHECK(receive_buffer_of(parse_udp("receive_buffer = \"16MiB\"\n")) == 16u * 1024 * 1024);
  CHECK(receive_buffer_of(parse_udp("receive_buffer = \"1000B\"\n")) == 1000);
}

TEST_CASE("config: a bad receive_buffer says what a size looks like") {
  for (const char* bad : {"\"4X\"", "\"M\"", "\"\"", "-1", "\"1G\"", "\"4 M\"", "1.5"}) {
    CAPTURE(bad);
    const auto r = parse_udp(std::string("receive_buffer = ") + bad + "\n");
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].key == "link[0].receive_buffer");
    CHECK(r.errors[0].message.rfind(
              "expected a size in bytes from 0 to 268435456 (an integer, or a string such as "
              "\"512K\" or \"4M\"), got ",
              0) == 0);
  }
}

TEST_CASE("config: uplink_inflight_per_client defaults to 16 and is bounded") {
  const auto d = parse_udp("");
  REQUIRE(d.ok());
  CHECK(d.config.gateway.limits.uplink_inflight_per_client == 16);
  const auto r = parse_udp("[gateway.limits]\nuplink_inflight_per_client = 64\n");
  REQUIRE_MESSAGE(r.ok(), to_string(r.errors));
  CHECK(r.config.gateway.limits.uplink_inflight_per_client == 64);
  for (const char* bad : {"0", "1025", "\"8\""}) {
    CAPTURE(bad);
    const auto e = parse_udp(std::string("[gateway.limits]\nuplink_inflight_per_client = ") + bad + "\n");
    REQUIRE(e.errors.size() == 1);
    CHECK(e.errors[0].key == "gateway.limits.uplink_inflight_per_client");
    CHECK(e.errors[0].message.rfind("expected an integer from 1 to 1024, got ", 0) == 0);
  }
}

TEST_CASE("config: the sleep buffers are bounded in messages and in bytes, per client and in total") {
  const auto d = parse_udp("");
  REQUIRE(d.ok());
  CHECK(d.config.gateway.limits.sleep_buffer_per_client == 1000);
  CHECK(d.config.gateway.limits.sleep_buffer_bytes_per_client == 64u * 1024);
  CHECK(d.config.gateway.limits.sleep_buffer_bytes_total == 16u * 1024 * 1024);
  const auto r = parse_udp(
      "[gateway.limits]\nsleep_buffer_bytes_per_client = \"256K\"\nsleep_buffer_bytes_total = 100000000\n");
  REQUIRE_MESSAGE(r.ok(), to_string(r.errors));
  CHECK(r.config.gateway.limits.sleep_buffer_bytes_per_client == 256u * 1024);
  CHECK(r.config.gateway.limits.sleep_buffer_bytes_total == 100000000u);
  const auto e = parse_udp("[gateway.limits]\nsleep_buffer_bytes_per_client = \"1\"\n");
  REQUIRE(e.errors.size() == 1);
  CHECK(e.errors[0].key == "gateway.limits.sleep_buffer_bytes_per_client");
  CHECK(e.errors[0].line == 4);  // after the two lines of the link
}

TEST_CASE("config: the status socket's bounds default to 16 connections and 8 MiB of unread replies") {
  const auto d = parse_udp("");
  REQUIRE(d.ok());
  CHECK(d.config.status.max_connections == 16);
  CHECK(d.config.status.max_reply_backlog == 8u << 20);
  const auto r = parse_udp("[status]\nmax_connections = 4\nmax_reply_backlog = \"1M\"\n");
  REQUIRE_MESSAGE(r.ok(), to_string(r.errors));
  CHECK(r.config.status.max_connections == 4);
  CHECK(r.config.status.max_reply_backlog == 1u << 20);
  const auto e = parse_udp("[status]\nmax_connections = 0\n");
  REQUIRE(e.errors.size() == 1);
  CHECK(e.errors[0].key == "status.max_connections");
}
