// The mosquitto-style topic ACL and the AccessRules policy built from it.
#include <doctest/doctest.h>

#include "conf/access_rules.hpp"
#include "conf/acl.hpp"

using namespace mqttsn::conf;

namespace {

Acl parse_ok(std::string_view text) {
  auto r = Acl::parse(text, "acl");
  REQUIRE_MESSAGE(r.errors.empty(), to_string(r.errors));
  REQUIRE(r.acl);
  return std::move(*r.acl);
}

}  // namespace

TEST_CASE("acl: publish needs write, subscribe needs read") {
  const auto acl = parse_ok(R"(
user sensor1
topic write sensors/sensor1/#
topic read commands/sensor1
topic readwrite shared/sensor1
)");
  CHECK(acl.may_publish("sensor1", "sensors/sensor1/temp"));
  CHECK_FALSE(acl.may_subscribe("sensor1", "sensors/sensor1/temp"));
  CHECK(acl.may_subscribe("sensor1", "commands/sensor1"));
  CHECK_FALSE(acl.may_publish("sensor1", "commands/sensor1"));
  CHECK(acl.may_publish("sensor1", "shared/sensor1"));
  CHECK(acl.may_subscribe("sensor1", "shared/sensor1"));
  CHECK_FALSE(acl.may_publish("sensor1", "elsewhere"));
  CHECK_FALSE(acl.may_publish("sensor2", "sensors/sensor1/temp"));  // another client's rules
}

TEST_CASE("acl: rules before the first user line apply to every client") {
  const auto acl = parse_ok("topic read public/#\nuser a\ntopic write a/x\nuser b\ntopic write b/x\n");
  CHECK(acl.may_subscribe("a", "public/news"));
  CHECK(acl.may_subscribe("b", "public/#"));
  CHECK(acl.may_subscribe("someone-else", "public/+"));
  CHECK(acl.may_subscribe("", "public/x"));  // also for QoS -1 (no client id)
  CHECK_FALSE(acl.may_publish("a", "b/x"));
  CHECK(acl.may_publish("b", "b/x"));
}

TEST_CASE("acl: patterns substitute %c and %u with the client id, wherever they appear") {
  const auto acl = parse_ok("user a\ntopic read x\npattern write sensors/%c/#\npattern read cmd/%u\n");
  CHECK(acl.may_publish("node7", "sensors/node7/t"));
  CHECK_FALSE(acl.may_publish("node7", "sensors/node8/t"));
  CHECK(acl.may_subscribe("node7", "cmd/node7"));
  CHECK_FALSE(acl.may_subscribe("node7", "cmd/+"));
  CHECK(acl.may_publish("a", "sensors/a/t"));  // patterns after a user line still apply to everyone
  // No client id (QoS -1) or an id that would widen the pattern: placeholder patterns do not apply.
  CHECK_FALSE(acl.may_publish("", "sensors//t"));
  CHECK_FALSE(acl.may_publish("x/y", "sensors/x/y/t"));
  CHECK_FALSE(acl.may_publish("+", "sensors/q/t"));
}

TEST_CASE("acl: patterns expand %% once to one percent sign, topic lines are taken as written") {
  const auto acl = parse_ok("pattern write a/%%c/%c\npattern read fixed/100%%\ntopic write t/%c/%%\n");
  CHECK(acl.may_publish("n1", "a/%c/n1"));  // "%%c" is a literal "%c", not the client id
  CHECK_FALSE(acl.may_publish("n1", "a/%n1/n1"));
  CHECK(acl.may_publish("x%c", "a/%c/x%c"));  // a '%' in the client id is not read again
  CHECK_FALSE(acl.may_publish("x%c", "a/%c/xx%cc"));
  CHECK(acl.may_subscribe("", "fixed/100%"));  // no client id needed: expanded at load
  CHECK_FALSE(acl.may_subscribe("n1", "fixed/100%%"));
  CHECK(acl.may_publish("n1", "t/%c/%%"));  // "topic" lines have no placeholders
  CHECK_FALSE(acl.may_publish("n1", "t/n1/%"));
}

TEST_CASE("acl: a pattern with an unknown or inapplicable placeholder is an error with file and line") {
  const auto r = Acl::parse("topic read ok/%x\npattern read s/%x\npattern read s/%h/%c\npattern write s/%\n",
                            "/etc/mqttsn-gw/acl");
  CHECK_FALSE(r.acl);
  CHECK(to_string(r.errors) ==
        "/etc/mqttsn-gw/acl:2: invalid pattern \"s/%x\": unknown placeholder '%x'; valid: %c and %u "
        "(client id), %%\n"
        "/etc/mqttsn-gw/acl:3: invalid pattern \"s/%h/%c\": '%h' (host name) does not apply here; valid: %c "
        "and %u (client id), %%\n"
        "/etc/mqttsn-gw/acl:4: invalid pattern \"s/%\": a '%' at the end; write %% for a percent sign\n");
}

TEST_CASE("acl: a subscription must be covered by a read entry") {
  const auto acl = parse_ok("topic read a/#\ntopic read b/+\n");
  CHECK(acl.may_subscribe("c", "a/#"));
  CHECK(acl.may_subscribe("c", "a/+/x"));
  CHECK(acl.may_subscribe("c", "b/1"));
  CHECK(acl.may_subscribe("c", "b/+"));
  CHECK_FALSE(acl.may_subscribe("c", "b/#"));  // would also deliver b/1/2
  CHECK_FALSE(acl.may_subscribe("c", "#"));
}

TEST_CASE("acl: deny entries win over grants") {
  const auto acl = parse_ok("topic readwrite home/#\ntopic deny home/secret/#\n");
  CHECK(acl.may_publish("c", "home/kitchen"));
  CHECK_FALSE(acl.may_publish("c", "home/secret/code"));
  CHECK(acl.may_subscribe("c", "home/kitchen/+"));
  CHECK_FALSE(acl.may_subscribe("c", "home/#"));  // could deliver a denied topic
  CHECK_FALSE(acl.may_subscribe("c", "home/+/code"));
}

TEST_CASE("acl: the access word is optional, as in mosquitto") {
  const auto acl = parse_ok("topic all/#\ntopic read\n");
  CHECK(acl.may_publish("c", "all/x"));
  CHECK(acl.may_subscribe("c", "all/x"));
  CHECK(acl.may_publish("c", "read"));  // a single word is the topic
  CHECK(acl.rule_count() == 2);
}

TEST_CASE("acl: topic filters with spaces, comments and blank lines") {
  const auto acl = parse_ok("# comment\n\n   # indented comment\ntopic write my topic/with spaces\r\n");
  CHECK(acl.may_publish("c", "my topic/with spaces"));
}

TEST_CASE("acl: syntax errors carry file and line, all of them") {
  const auto r = Acl::parse(R"(topic read ok/#
topc read x
user
topic rw a/b
topic read a/#/b
pattern
topic write a+
)",
                            "/etc/mqttsn-gw/acl");
  CHECK_FALSE(r.acl);
  CHECK(to_string(r.errors) ==
        "/etc/mqttsn-gw/acl:2: unknown keyword \"topc\"; expected \"user\", \"topic\" or \"pattern\"\n"
        "/etc/mqttsn-gw/acl:3: \"user\" needs a client id\n"
        "/etc/mqttsn-gw/acl:4: invalid access \"rw\"; expected read, write, readwrite or deny\n"
        "/etc/mqttsn-gw/acl:5: invalid topic filter \"a/#/b\": '#' must be the last level\n"
        "/etc/mqttsn-gw/acl:6: \"pattern\" needs a topic filter, e.g. \"pattern read sensors/#\"\n"
        "/etc/mqttsn-gw/acl:7: invalid topic filter \"a+\": '+' must be a whole level\n");
}

TEST_CASE("access rules: no ACL allows every publish and subscribe") {
  const AccessRules rules(true, std::nullopt, std::nullopt);
  CHECK(rules.may_publish("c", "any/thing"));
  CHECK(rules.may_subscribe("c", "#"));
  CHECK(rules.may_connect("c", mqttsn::LinkAddress::serial(0)));
}

TEST_CASE("access rules: the ACL decides publish and subscribe") {
  AccessRules rules(true, std::nullopt, parse_ok("user c\ntopic write up/#\ntopic read down/#\n"));
  CHECK(rules.may_publish("c", "up/1"));
  CHECK_FALSE(rules.may_publish("c", "down/1"));
  CHECK(rules.may_subscribe("c", "down/#"));
  CHECK_FALSE(rules.may_subscribe("c", "up/#"));
}

TEST_CASE("access rules: without anonymous access, QoS -1 publishes (no client id) are refused") {
  const AccessRules closed(false, std::nullopt, std::nullopt);
  CHECK_FALSE(closed.may_publish("", "x"));
  CHECK(closed.may_publish("known", "x"));
  const AccessRules open(true, std::nullopt, std::nullopt);
  CHECK(open.may_publish("", "x"));
}
