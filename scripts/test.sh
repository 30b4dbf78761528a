#!/usr/bin/env bash
# The README's test command: installs what is missing, builds with warnings as errors, runs every
# test; then builds the tests again with AddressSanitizer + UndefinedBehaviorSanitizer and runs them
# again (the presets dev and asan of CMakePresets.json, in build/ and build-asan/). Exits non-zero
# when anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
jobs=$(nproc)

echo "== build (warnings are errors)"
bash scripts/build.sh dev
echo "== tests"
ctest --preset dev --output-on-failure --no-tests=error -j "$jobs"

echo "== build with AddressSanitizer + UndefinedBehaviorSanitizer"
bash scripts/build.sh asan
echo "== tests under ASan + UBSan"
# The suppressions name two functions that hand Paho buffers it never frees (bounded, see the file).
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  LSAN_OPTIONS=suppressions="$PWD/scripts/lsan-suppressions.txt" \
  ctest --preset asan --output-on-failure --no-tests=error -j "$jobs"
