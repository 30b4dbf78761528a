// The upstream connection's counter set (gateway/core/counter_set.hpp): every counter named once,
// none twice, visited in list order by the status socket and the metrics.
#include <doctest/doctest.h>

#include "bridge/upstream_status.hpp"
#include "support/counter_set_checks.hpp"

TEST_CASE("upstream counters: one unique name per member, visited in list order") {
  counter_checks::check_member_set<mqttsn::bridge::UpstreamCounters>();
}
