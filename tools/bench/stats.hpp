#pragma once
// Latency samples and their percentiles (nearest-rank: the smallest sample with at least p % of the
// samples at or below it), so p100 is the max and a single sample is every percentile.
#include <cstdint>
#include <vector>

namespace mqttsn::bench {

struct LatencySummary {
  std::size_t count = 0;
  double p50_us = 0, p99_us = 0, p999_us = 0, max_us = 0, mean_us = 0;
};

// `sorted_ns` ascending; p in [0, 100]. 0 when empty.
std::uint64_t percentile_ns(const std::vector<std::uint64_t>& sorted_ns, double p);

// Takes the samples by value, sorts them, and summarises in microseconds.
LatencySummary summarise(std::vector<std::uint64_t> samples_ns);

}  // namespace mqttsn::bench
