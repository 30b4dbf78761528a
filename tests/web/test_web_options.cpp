// mqttsn-gwweb's start-up rules: where it may listen, and with what.
#include <doctest/doctest.h>

#include "support/temp_dir.hpp"
#include "web/options.hpp"

using namespace mqttsn::web;

TEST_CASE("--listen takes ADDR:PORT, [v6]:PORT and :PORT, and refuses a bad port") {
  ListenAddress a;
  std::string error;
  REQUIRE(parse_listen("127.0.0.1:8080", a, error));
  CHECK(a.host == "127.0.0.1");
  CHECK(a.port == 8080);
  REQUIRE(parse_listen("[::1]:9000", a, error));
  CHECK(a.host == "::1");
  CHECK(a.port == 9000);
  REQUIRE(parse_listen(":80", a, error));
  CHECK(a.host.empty());
  CHECK_FALSE(parse_listen("127.0.0.1", a, error));
  CHECK_FALSE(parse_listen("127.0.0.1:0", a, error));
  CHECK_FALSE(parse_listen("127.0.0.1:70000", a, error));
  CHECK_FALSE(parse_listen("127.0.0.1:80x", a, error));
  CHECK(error.find("port") != std::string::npos);
}

TEST_CASE("only loopback addresses count as loopback") {
  CHECK(is_loopback("127.0.0.1"));
  CHECK(is_loopback("127.1.2.3"));
  CHECK(is_loopback("::1"));
  CHECK(is_loopback("localhost"));
  CHECK_FALSE(is_loopback(""));  // all interfaces
  CHECK_FALSE(is_loopback("0.0.0.0"));
  CHECK_FALSE(is_loopback("192.168.1.10"));
  CHECK_FALSE(is_loopback("::"));
}

TEST_CASE("a non-loopback address needs TLS and a token, loopback needs neither") {
  WebOptions o;
  ListenAddress loop{"127.0.0.1", 8080};
  ListenAddress lan{"0.0.0.0", 8443};
  CHECK(validate(o, loop).empty());
  CHECK_FALSE(validate(o, lan).empty());
  o.tls_cert = "cert.pem";
  o.tls_key = "key.pem";
  CHECK(validate(o, lan).find("--token-file") != std::string::npos);  // TLS alone is not enough
  o.token = "secret";
  CHECK(validate(o, lan).empty());
  o.tls_cert.clear();
  o.tls_key.clear();
  CHECK_FALSE(validate(o, lan).empty());  // a token alone would cross the network in clear
  o.tls_key = "key.pem";
  CHECK(validate(o, loop) == "--tls-cert and --tls-key go together");
}

TEST_CASE("the token file's first line is the token, and an empty one is refused") {
  mqttsn::test::TempDir dir;
  dir.write("token", "s3cret \nsecond line\n");
  dir.write("empty", "\n");
  std::string token, error;
  REQUIRE(read_token_file(dir.file("token"), token, error));
  CHECK(token == "s3cret");
  CHECK_FALSE(read_token_file(dir.file("empty"), token, error));
  CHECK(error.find("empty") != std::string::npos);
  CHECK_FALSE(read_token_file(dir.file("missing"), token, error));
}
