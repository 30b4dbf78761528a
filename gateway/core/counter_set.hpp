#pragma once
// Named counters, each declared once. A counter set is an X-macro list of its counters, in the order
// the status socket and the metrics show them: one X(name) per line, each line but the last ending in
// a backslash, and a comment, if any, between them as /* */ (a // comment would swallow the line's
// backslash). radio/link.hpp:
//
//   #define MQTTSN_LINK_COUNTERS(X) X(datagrams_in) X(datagrams_out) ... X(receive_buffer_drops)
//
// A set held as plain members (`stats.tx_failures++` stays one add) expands its list in its struct:
//
//   struct LinkStats {
//     MQTTSN_COUNTER_MEMBERS(MQTTSN_LINK_COUNTERS);
//   };
//   static_assert(lists_every_member<LinkStats>());
//
// which gives one std::uint64_t member per counter, `kNames` (the names, in list order) and
// `for_each(f)`, calling f(std::string_view name, std::uint64_t value) for each counter in that order.
// A set held as an array indexed by an enum (the core's Counters, gateway/core/counters.hpp) expands
// the same kind of list with MQTTSN_COUNTER_ENUMERATOR and MQTTSN_COUNTER_NAME, and offers the same
// kNames and for_each. The status socket's JSON and the Prometheus metrics are written from for_each;
// nothing else lists the names. Standard library only, so every layer may include it.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#define MQTTSN_COUNTER_ENUMERATOR(name) name,
#define MQTTSN_COUNTER_NAME(name) std::string_view{#name},
#define MQTTSN_COUNTER_FIELD(name) std::uint64_t name = 0;
#define MQTTSN_COUNTER_VISIT(name) f(std::string_view{#name}, name);

// Inside a struct: the members, for_each and kNames of the list LIST. Ends without a semicolon.
#define MQTTSN_COUNTER_MEMBERS(LIST)   \
  LIST(MQTTSN_COUNTER_FIELD)           \
  template <class F>                   \
  void for_each(F&& f) const {         \
    LIST(MQTTSN_COUNTER_VISIT)         \
  }                                    \
  static constexpr std::array kNames { \
    LIST(MQTTSN_COUNTER_NAME)          \
  }

namespace mqttsn {

// No name twice.
template <std::size_t N>
constexpr bool names_unique(const std::array<std::string_view, N>& names) {
  for (std::size_t i = 0; i < N; ++i)
    for (std::size_t j = i + 1; j < N; ++j)
      if (names[i] == names[j]) return false;
  return true;
}

// A struct of MQTTSN_COUNTER_MEMBERS holds nothing but its listed counters: a member added by hand,
// outside the list, would be missing from the status socket and the metrics.
template <class Set>
constexpr bool lists_every_member() {
  return sizeof(Set) == Set::kNames.size() * sizeof(std::uint64_t) && names_unique(Set::kNames);
}

}  // namespace mqttsn
