#pragma once
// `mqttsn-bench --self-test`: checks the pure pieces (percentiles, payload layout) with known
// answers. The tests tree only includes known areas, so this is the bench's own check; the smoke
// mode of scripts/bench.sh runs it first.
#include <cstdio>

namespace mqttsn::bench {

// Prints one line per failed check; returns the number of failures.
int run_self_test(std::FILE* out);

}  // namespace mqttsn::bench
