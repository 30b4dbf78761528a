// Counter sets declare each counter once (gateway/core/counter_set.hpp): the name list, for_each and
// the enum all come from one X-macro list. These check that nothing lists a name twice or leaves one
// out, for the core's set and for the pattern itself.
#include <doctest/doctest.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "gateway/core/counters.hpp"
#include "support/counter_set_checks.hpp"

using namespace mqttsn;

namespace {

#define TEST_COUNTERS(X)         \
  X(first)                       \
  X(second) /* with a comment */ \
  X(third)

struct TestCounters {
  MQTTSN_COUNTER_MEMBERS(TEST_COUNTERS);
};
static_assert(lists_every_member<TestCounters>());

// A member outside the list is what lists_every_member() refuses.
struct WithAStrayMember {
  MQTTSN_COUNTER_MEMBERS(TEST_COUNTERS);
  std::uint64_t stray = 0;
};
static_assert(!lists_every_member<WithAStrayMember>());

}  // namespace

TEST_CASE("names_unique finds a name listed twice") {
  constexpr std::array<std::string_view, 3> once{"a", "b", "c"};
  constexpr std::array<std::string_view, 4> twice{"a", "b", "c", "b"};
  static_assert(names_unique(once));
  static_assert(!names_unique(twice));
  CHECK(names_unique(once));
  CHECK_FALSE(names_unique(twice));
}

TEST_CASE("a struct of MQTTSN_COUNTER_MEMBERS: one member per name, visited in list order") {
  CHECK(TestCounters::kNames == std::array<std::string_view, 3>{"first", "second", "third"});
  counter_checks::check_member_set<TestCounters>();
  TestCounters c;
  c.second++;
  std::uint64_t seen = 0;
  c.for_each([&](std::string_view name, std::uint64_t v) {
    if (name == "second") seen = v;
  });
  CHECK(seen == 1);
}

TEST_CASE("core counters: one unique name per enum value, for_each in enum order") {
  constexpr auto n = static_cast<std::size_t>(Counter::count_);
  REQUIRE(Counters::kNames.size() == n);
  counter_checks::check_names(Counters::kNames);
  Counters c;
  for (std::size_t i = 0; i < n; ++i) {
    c.inc(static_cast<Counter>(i), i + 1);
    CHECK(std::string_view(to_string(static_cast<Counter>(i))) == Counters::kNames[i]);
  }
  const auto visited = counter_checks::visit(c);
  CHECK(visited.names == std::vector<std::string_view>(Counters::kNames.begin(), Counters::kNames.end()));
  REQUIRE(visited.values.size() == n);
  for (std::size_t i = 0; i < n; ++i) CHECK(visited.values[i] == i + 1);
  CHECK(c.get(Counter::datagrams_in) == 1);
  CHECK(std::string_view(to_string(Counter::gwinfo_sent)) == "gwinfo_sent");
}
