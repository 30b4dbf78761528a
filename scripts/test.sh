#!/usr/bin/env bash
# The README's test command: installs what is missing, builds with warnings as errors, runs every
# test; then builds the tests again with AddressSanitizer + UndefinedBehaviorSanitizer and runs them
# again. Exits non-zero when anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
jobs=$(nproc)

echo "== build (warnings are errors)"
# TESTS=ON explicitly: the demo builds the same tree without tests, and CMake remembers that.
# Optimised (GCC's data-flow warnings need it to see what -Werror must catch) but without debug info:
# -g costs ~40% of the compile time here, and CI runs three full builds on two cores.
bash scripts/build.sh build -DMQTTSN_WERROR=ON -DMQTTSN_TESTS=ON -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -DNDEBUG"
echo "== tests"
ctest --test-dir build --output-on-failure --no-tests=error -j "$jobs"

echo "== build with AddressSanitizer + UndefinedBehaviorSanitizer"
# -g1: line tables and function names, all a sanitizer report needs, at a fraction of -g's cost.
BUILD_TYPE=Debug bash scripts/build.sh build-asan -DMQTTSN_WERROR=ON -DMQTTSN_SANITIZE=ON -DMQTTSN_BENCH_TOOLS=OFF \
  -DMQTTSN_TESTS=ON -DCMAKE_CXX_FLAGS_DEBUG=-g1
echo "== tests under ASan + UBSan"
# The suppressions name two functions that hand Paho buffers it never frees (bounded, see the file).
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  LSAN_OPTIONS=suppressions="$PWD/scripts/lsan-suppressions.txt" \
  ctest --test-dir build-asan --output-on-failure --no-tests=error -j "$jobs"
