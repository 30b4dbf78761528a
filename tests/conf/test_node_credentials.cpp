// Per-node upstream: the mode, the credentials file (exact ids, %c patterns, line-numbered errors).
#include <doctest/doctest.h>

#include <string>

#include "conf/config_loader.hpp"
#include "conf/node_credentials.hpp"

using namespace mqttsn::conf;

namespace {
LoadResult parse_with_link(const std::string& extra) {
  return parse_config("[[link]]\nkind = \"udp\"\n" + extra, "/etc/mqttsn-gw/t.toml");
}
}  // namespace

TEST_CASE("config: upstream mode defaults to shared and per_node needs a credentials_file") {
  auto shared = parse_with_link("");
  REQUIRE_MESSAGE(shared.ok(), to_string(shared.errors));
  CHECK(shared.config.upstream.mode == UpstreamMode::shared);

  auto per_node = parse_with_link(
      "[upstream]\nmode = \"per_node\"\ncredentials_file = \"nodes\"\n"
      "node_client_id_prefix = \"gw1-\"\n");
  REQUIRE_MESSAGE(per_node.ok(), to_string(per_node.errors));
  CHECK(per_node.config.upstream.mode == UpstreamMode::per_node);
  CHECK(per_node.config.upstream.credentials_file == "/etc/mqttsn-gw/nodes");
  CHECK(per_node.config.upstream.node_client_id_prefix == "gw1-");

  auto missing = parse_with_link("[upstream]\nmode = \"per_node\"\n");
  REQUIRE_FALSE(missing.ok());
  CHECK(to_string(missing.errors).find("credentials_file") != std::string::npos);

  auto bad = parse_with_link("[upstream]\nmode = \"transparent\"\n");
  CHECK_FALSE(bad.ok());
}

TEST_CASE("node credentials: an exact client id wins over patterns, and %c expands to the client id") {
  auto r = parse_node_credentials(
      "# comment\n"
      "sensor-1 username=alice password=a1\n"
      "sensor-%c username=dev-%c password_file=pw/%c\n"
      "%c username=%c\n",
      "creds", "/etc/mqttsn-gw");
  REQUIRE_MESSAGE(r.credentials, to_string(r.errors));
  const auto& c = *r.credentials;
  CHECK(c.size() == 3);
  auto alice = c.find("sensor-1");
  REQUIRE(alice);
  CHECK(alice->username == "alice");
  CHECK(alice->password == "a1");
  auto s2 = c.find("sensor-2");
  REQUIRE(s2);
  CHECK(s2->username == "dev-sensor-2");
  CHECK(s2->password_file == "/etc/mqttsn-gw/pw/sensor-2");
  auto other = c.find("meter");
  REQUIRE(other);
  CHECK(other->username == "meter");
  CHECK(other->password.empty());
}

TEST_CASE("node credentials: no line for a client id gives no identity") {
  auto r = parse_node_credentials("sensor-%c username=%c\n", "creds");
  REQUIRE(r.credentials);
  CHECK_FALSE(r.credentials->find("meter-1"));
  CHECK_FALSE(r.credentials->find("sensor-"));  // %c stands for at least one character
}

TEST_CASE("node credentials: errors name the file and line, and a file with one is rejected whole") {
  auto r = parse_node_credentials(
      "a username=a\n"
      "b password=x\n"
      "c colour=red\n"
      "a username=again\n"
      "d username=d cert_file=d.pem\n"
      "%c-%c username=x\n"
      "e username=e password=p password_file=f\n"
      "f username\n",
      "creds");
  CHECK_FALSE(r.credentials);
  REQUIRE(r.errors.size() == 7);
  CHECK(r.errors[0].line == 2);
  CHECK(r.errors[0].message.find("needs a username") != std::string::npos);
  CHECK(r.errors[1].line == 3);
  CHECK(r.errors[1].message.find("colour") != std::string::npos);
  CHECK(r.errors[2].line == 4);
  CHECK(r.errors[2].message.find("line 1") != std::string::npos);
  CHECK(r.errors[3].line == 5);
  CHECK(r.errors[4].line == 6);
  CHECK(r.errors[5].line == 7);
  CHECK(r.errors[6].line == 8);
  CHECK(r.errors[0].to_string().starts_with("creds:2:"));
}
