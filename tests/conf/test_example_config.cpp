// conf/gateway.toml is the operator's reference: it must load cleanly, its side files must load,
// and it must mention every key the loader knows (so the two cannot drift apart).
#include <doctest/doctest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include <toml++/toml.h>

#include "conf/config_loader.hpp"
#include "conf/reload.hpp"

using namespace mqttsn::conf;

namespace {

const std::filesystem::path kConfDir = MQTTSN_CONF_DIR;

std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The example with its optional keys ("# key = value") and tables ("# [table]") uncommented.
std::string uncomment_optional_keys(const std::string& text) {
  static const std::regex commented_key(R"(^#\s*([a-z_0-9]+\s*=.*|\[.*\])$)");
  std::istringstream in(text);
  std::string line, out;
  while (std::getline(in, line)) {
    std::smatch m;
    out += std::regex_match(line, m, commented_key) ? m[1].str() : line;
    out += '\n';
  }
  return out;
}

void flatten(const toml::table& table, const std::string& prefix, std::set<std::string>& keys) {
  for (auto&& [key, value] : table) {
    const std::string path = prefix.empty() ? std::string(key.str()) : prefix + "." + std::string(key.str());
    keys.insert(path);
    if (const auto* sub = value.as_table()) flatten(*sub, path, keys);
    if (const auto* array = value.as_array(); array && key.str() == "link") {
      for (const auto& element : *array) {
        const auto* link = element.as_table();
        REQUIRE(link);
        const auto kind = (*link)["kind"].value_or(std::string("?"));
        flatten(*link, "link." + kind, keys);
      }
    }
  }
}

}  // namespace

TEST_CASE("example config: conf/gateway.toml loads without errors, side files included") {
  const auto r = load_config(kConfDir / "gateway.toml");
  REQUIRE_MESSAGE(r.ok(), to_string(r.errors));
  CHECK(r.config.links.size() == 4);
  CHECK(r.config.links[0].kind() == LinkKind::xbee);
  CHECK(r.config.links[1].kind() == LinkKind::udp);
  CHECK(r.config.gateway.predefined_topics_file == kConfDir / "predefined-topics.conf");

  const auto parts = load_reloadable(r.config);
  REQUIRE_MESSAGE(parts.ok(), to_string(parts.errors));
  CHECK(parts.parts->predefined_topics.size() == 3);
  CHECK(parts.parts->access->has_acl());
  CHECK(parts.parts->access->has_admission_list());
}

TEST_CASE("example config: every key the loader knows appears in conf/gateway.toml, and no other") {
  const auto text = uncomment_optional_keys(read_all(kConfDir / "gateway.toml"));
  toml::table table;
  try {
    table = toml::parse(std::string_view(text), std::string_view("gateway.toml (uncommented)"));
  } catch (const toml::parse_error& e) {
    FAIL("the uncommented example is not valid TOML: " << e.description() << " at line "
                                                       << e.source().begin.line);
  }
  std::set<std::string> in_example;
  flatten(table, "", in_example);
  const auto known = known_config_keys();
  for (const auto& key : known)
    CHECK_MESSAGE(in_example.count(key) == 1, "missing from conf/gateway.toml: " << key);
  for (const auto& key : in_example)
    CHECK_MESSAGE(known.count(key) == 1, "not a key the loader knows: " << key);
  CHECK(known.size() > 60);  // the schema walk really happened
}
