// SIGHUP semantics at the API level: a good reload swaps the rules in, a bad one keeps the old.
#include <doctest/doctest.h>

#include "conf/config_loader.hpp"
#include "conf/reload.hpp"
#include "support/temp_dir.hpp"

using namespace mqttsn::conf;
using mqttsn::LinkAddress;

namespace {

constexpr const char* kConfig = R"([gateway]
predefined_topics_file = "topics"
[[link]]
kind = "udp"
[access]
allow_anonymous = false
clients_file = "clients"
acl_file = "acl"
[logging]
level = "info"
)";

struct Fixture {
  mqttsn::test::TempDir dir{"mqttsn-conf"};
  std::filesystem::path config_file;
  GatewayConfig running;

  Fixture() {
    config_file = dir.write("gateway.toml", kConfig);
    dir.write("topics", "1, a/b\n");
    dir.write("clients", "node1\n");
    dir.write("acl", "user node1\ntopic write up/#\n");
    auto loaded = load_config(config_file);
    REQUIRE_MESSAGE(loaded.ok(), to_string(loaded.errors));
    running = loaded.config;
  }

  ReloadableState initial_state() {
    auto parts = load_reloadable(running);
    REQUIRE_MESSAGE(parts.ok(), to_string(parts.errors));
    return ReloadableState(std::move(*parts.parts));
  }
};

const LinkAddress kFrom = LinkAddress::udp4(0, {127, 0, 0, 1}, 4000);

}  // namespace

TEST_CASE("reload: a valid change takes effect through the same policy object") {
  Fixture f;
  auto state = f.initial_state();
  const mqttsn::AccessPolicy& policy = state.policy();  // what the core holds
  CHECK(policy.may_publish("node1", "up/x"));
  CHECK_FALSE(policy.may_publish("node1", "other"));
  CHECK_FALSE(policy.may_connect("node2", kFrom));

  f.dir.write("acl", "user node1\ntopic write other\n");
  f.dir.write("clients", "node1\nnode2\n");
  f.dir.write("topics", "1, a/b\n2, c/d\n");
  const auto result = reload(f.config_file, f.running);
  REQUIRE_MESSAGE(result.ok(), to_string(result.errors));
  CHECK(result.restart_needed.empty());
  CHECK(state.apply(result));
  CHECK_FALSE(policy.may_publish("node1", "up/x"));
  CHECK(policy.may_publish("node1", "other"));
  CHECK(policy.may_connect("node2", kFrom));
  CHECK(state.parts().predefined_topics.size() == 2);
}

TEST_CASE("reload: errors in any side file keep the old rules") {
  Fixture f;
  auto state = f.initial_state();
  const mqttsn::AccessPolicy& policy = state.policy();

  f.dir.write("acl", "user node1\ntopic write other\ntopic bogus x y\n");
  f.dir.write("clients", "node1\nnode2\n");
  const auto result = reload(f.config_file, f.running);
  CHECK_FALSE(result.ok());
  REQUIRE(result.errors.size() == 1);
  CHECK(result.errors[0].to_string() ==
        (f.dir.path() / "acl").string() +
            ":3: invalid access \"bogus\"; expected read, write, readwrite or deny");
  CHECK_FALSE(state.apply(result));
  CHECK(policy.may_publish("node1", "up/x"));       // old ACL
  CHECK_FALSE(policy.may_connect("node2", kFrom));  // old admission list, although it was valid
}

TEST_CASE("reload: a broken configuration file or a missing side file keeps the old rules") {
  Fixture f;
  auto state = f.initial_state();
  f.dir.write("gateway.toml", std::string(kConfig) + "[logging]\nlevel = \"loud\"\n");
  auto result = reload(f.config_file, f.running);
  CHECK_FALSE(result.ok());
  CHECK_FALSE(state.apply(result));

  f.dir.write("gateway.toml", kConfig);
  std::filesystem::remove(f.dir.path() / "topics");
  result = reload(f.config_file, f.running);
  REQUIRE(result.errors.size() == 1);
  CHECK(result.errors[0].message == "cannot read: No such file or directory");
  CHECK_FALSE(state.apply(result));
  CHECK(state.parts().predefined_topics.size() == 1);
  CHECK(state.parts().logging.level == mqttsn::log::Level::info);
}

TEST_CASE("reload: the log level is reloadable, other sections are reported as needing a restart") {
  Fixture f;
  auto state = f.initial_state();
  f.dir.write("gateway.toml", std::string(kConfig) + "port = 1884\n[upstream]\nkeepalive = \"30s\"\n");
  // (port lands in [logging]: an error; fix it to change the link instead)
  CHECK_FALSE(reload(f.config_file, f.running).ok());

  std::string changed = kConfig;
  changed.replace(changed.find("level = \"info\""), 14, "level = \"debug\"");
  changed.replace(changed.find("kind = \"udp\""), 12, "kind = \"udp\"\nport = 1884");
  f.dir.write("gateway.toml", changed + "[upstream]\nkeepalive = \"30s\"\n");
  const auto result = reload(f.config_file, f.running);
  REQUIRE_MESSAGE(result.ok(), to_string(result.errors));
  CHECK(result.restart_needed == std::vector<std::string>{"link", "upstream"});
  CHECK(state.apply(result));
  CHECK(state.parts().logging.level == mqttsn::log::Level::debug);
}

TEST_CASE("reload: a per_node mark without [upstream] credentials_file is an error at its line") {
  Fixture f;
  f.dir.write("clients", "node1\nnode2 per_node\n");
  auto loaded = load_config(f.config_file);
  REQUIRE(loaded.ok());
  const auto r = load_reloadable(loaded.config);
  CHECK_FALSE(r.ok());
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].line == 2);
  CHECK(r.errors[0].file == (f.dir.path() / "clients").string());
  CHECK(r.errors[0].message.find("credentials_file") != std::string::npos);
}
