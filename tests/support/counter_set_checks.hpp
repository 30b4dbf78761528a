#pragma once
// What the status socket and the metrics rely on in a counter set (gateway/core/counter_set.hpp):
// one name per counter, none twice, none empty, and for_each visiting every counter once, under its
// own name, in list order. Header only: any test area may use it.
#include <doctest/doctest.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "gateway/core/counter_set.hpp"

namespace counter_checks {

// What for_each visits, in order.
struct Visited {
  std::vector<std::string_view> names;
  std::vector<std::uint64_t> values;
};
template <class Set>
Visited visit(const Set& set) {
  Visited v;
  set.for_each([&](std::string_view name, std::uint64_t value) {
    v.names.push_back(name);
    v.values.push_back(value);
  });
  return v;
}

template <std::size_t N>
void check_names(const std::array<std::string_view, N>& names) {
  CHECK(N > 0);
  CHECK(mqttsn::names_unique(names));
  for (const auto name : names) CHECK_FALSE(name.empty());
}

// A struct of MQTTSN_COUNTER_MEMBERS: every member is a listed counter (sizeof), and for_each gives
// each member's own value under its name. The members get distinct values 1..N through their bytes,
// so a member visited twice, or not at all, or under another member's name shows.
template <class Set>
void check_member_set() {
  constexpr std::size_t n = Set::kNames.size();
  check_names(Set::kNames);
  REQUIRE(sizeof(Set) == n * sizeof(std::uint64_t));
  std::array<std::uint64_t, n> distinct{};
  for (std::size_t i = 0; i < n; ++i) distinct[i] = i + 1;
  Set set;
  std::memcpy(static_cast<void*>(&set), distinct.data(), sizeof set);
  const Visited v = visit(set);
  CHECK(v.names == std::vector<std::string_view>(Set::kNames.begin(), Set::kNames.end()));
  CHECK(v.values == std::vector<std::uint64_t>(distinct.begin(), distinct.end()));
}

}  // namespace counter_checks
