// The links' and the serial port's counter sets (gateway/core/counter_set.hpp): every counter named
// once, none twice, and the port's counters reach the link's counters of the same names.
#include <doctest/doctest.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <string_view>

#include "radio/link.hpp"
#include "radio/port_stats.hpp"
#include "radio/serial_port.hpp"
#include "support/counter_set_checks.hpp"

using mqttsn::radio::LinkStats;
using mqttsn::radio::SerialPortStats;

TEST_CASE("link counters: one unique name per member, visited in list order") {
  counter_checks::check_member_set<LinkStats>();
}

TEST_CASE("serial port counters: one unique name per member, visited in list order") {
  counter_checks::check_member_set<SerialPortStats>();
}

TEST_CASE("copy_port_stats copies every port counter to the link counter of the same name") {
  // Distinct values through the port's bytes (its members are its listed counters, in list order).
  constexpr std::size_t n = SerialPortStats::kNames.size();
  std::array<std::uint64_t, n> values{};
  std::map<std::string_view, std::uint64_t> want;
  for (std::size_t i = 0; i < n; ++i) want[SerialPortStats::kNames[i]] = values[i] = 101 + i;
  SerialPortStats port;
  static_assert(sizeof port == sizeof values);
  std::memcpy(static_cast<void*>(&port), values.data(), sizeof port);

  LinkStats link;
  link.datagrams_in = 7;
  mqttsn::radio::copy_port_stats(port, link);
  std::size_t copied = 0;
  link.for_each([&](std::string_view name, std::uint64_t v) {
    const auto it = want.find(name);
    if (it != want.end()) {
      CHECK_MESSAGE(v == it->second, name);
      ++copied;
    } else {
      CHECK_MESSAGE(v == (name == "datagrams_in" ? 7u : 0u), name);  // the link's own, untouched
    }
  });
  CHECK(copied == n);
}
