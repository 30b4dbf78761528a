// QoS between the legs as a table: every node QoS against the configuration's levels.
#include <doctest/doctest.h>

#include "bridge/qos_translation.hpp"

using mqttsn::bridge::QosTranslation;

namespace {
struct PublishRow {
  int minus1_as, floor, ceiling;
  int node_qos;
  int upstream;
};
}  // namespace

TEST_CASE("publishes go up with QoS -1 mapped, at least the floor and at most the ceiling") {
  const PublishRow rows[] = {
      // defaults: -1 -> 0, the rest unchanged
      {0, 0, 2, -1, 0},
      {0, 0, 2, 0, 0},
      {0, 0, 2, 1, 1},
      {0, 0, 2, 2, 2},
      // QoS -1 has its own level
      {1, 0, 2, -1, 1},
      {2, 0, 2, -1, 2},
      // the floor raises what is below it
      {0, 1, 2, -1, 1},
      {0, 1, 2, 0, 1},
      {0, 1, 2, 2, 2},
      // a broker without QoS 2 (max_qos = 1): QoS 2 goes up as 1
      {0, 0, 1, 2, 1},
      {0, 0, 1, 1, 1},
      {2, 0, 1, -1, 1},
      // the ceiling wins over the floor
      {0, 2, 1, 0, 1},
      {0, 2, 0, 2, 0},
      // QoS 0 only
      {0, 0, 0, 1, 0},
      {0, 0, 0, 2, 0},
      // out-of-range configuration values are clamped, never passed on
      {5, 0, 2, -1, 2},
      {0, -3, 7, 1, 1},
  };
  for (const auto& r : rows) {
    CAPTURE(r.minus1_as);
    CAPTURE(r.floor);
    CAPTURE(r.ceiling);
    CAPTURE(r.node_qos);
    const QosTranslation t{r.minus1_as, r.floor, r.ceiling};
    CHECK(t.publish(static_cast<mqttsn::QoS>(r.node_qos)) == r.upstream);
  }
}

TEST_CASE("subscriptions ask the broker for at most the ceiling") {
  const int rows[][3] = {
      // ceiling, node QoS, asked upstream
      {2, 0, 0}, {2, 1, 1}, {2, 2, 2}, {1, 2, 1}, {1, 0, 0}, {0, 2, 0}, {0, 1, 0},
  };
  for (const auto& r : rows) {
    CAPTURE(r[0]);
    CAPTURE(r[1]);
    const QosTranslation t{0, 1, r[0]};  // the floor is for publishes only
    CHECK(t.subscribe(static_cast<mqttsn::QoS>(r[1])) == r[2]);
  }
}
