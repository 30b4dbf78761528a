#!/usr/bin/env bash
# The README's test command: installs what is missing, builds with warnings as errors, runs every
# test; then builds the tests again with AddressSanitizer + UndefinedBehaviorSanitizer and runs them
# again (the presets dev and asan of CMakePresets.json, in build/ and build-asan/). Exits non-zero
# when anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
# Each stage says how long it took: CI has a time budget, and this is where it goes.
stage_start=$(date +%s)
took() { echo "-- $1 took $(($(date +%s) - stage_start)) s"; stage_start=$(date +%s); }
bash scripts/install-deps.sh
took "install"
jobs=$(nproc)

echo "== build (warnings are errors)"
bash scripts/build.sh dev
took "build (dev)"
echo "== tests"
ctest --preset dev --output-on-failure --no-tests=error -j "$jobs"
took "tests (dev)"

echo "== build with AddressSanitizer + UndefinedBehaviorSanitizer"
bash scripts/build.sh asan
took "build (asan)"
echo "== tests under ASan + UBSan"
# The suppressions name two functions that hand Paho buffers it never frees (bounded, see the file).
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  LSAN_OPTIONS=suppressions="$PWD/scripts/lsan-suppressions.txt" \
  ctest --preset asan --output-on-failure --no-tests=error -j "$jobs"
took "tests (asan)"
