#include "tools/bench/stats.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace mqttsn::bench {

std::uint64_t percentile_ns(const std::vector<std::uint64_t>& sorted_ns, double p) {
  if (sorted_ns.empty()) return 0;
  p = std::clamp(p, 0.0, 100.0);
  // Nearest rank: ceil(p/100 * n), 1-based; rank 0 (p == 0) means the minimum.
  // The small slack keeps 99.9 % of 1000 at rank 999: 99.9 / 100 * 1000 is 999.0000000000001 in doubles.
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted_ns.size()) - 1e-6));
  if (rank == 0) rank = 1;
  return sorted_ns[std::min(rank, sorted_ns.size()) - 1];
}

LatencySummary summarise(std::vector<std::uint64_t> samples_ns) {
  LatencySummary s;
  s.count = samples_ns.size();
  if (samples_ns.empty()) return s;
  std::sort(samples_ns.begin(), samples_ns.end());
  auto us = [](std::uint64_t ns) { return static_cast<double>(ns) / 1000.0; };
  s.p50_us = us(percentile_ns(samples_ns, 50));
  s.p99_us = us(percentile_ns(samples_ns, 99));
  s.p999_us = us(percentile_ns(samples_ns, 99.9));
  s.max_us = us(samples_ns.back());
  const long double total = std::accumulate(samples_ns.begin(), samples_ns.end(), 0.0L);
  s.mean_us = static_cast<double>(total / static_cast<long double>(samples_ns.size()) / 1000.0L);
  return s;
}

}  // namespace mqttsn::bench
