#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for SECONDS (default 60), starting from the
# regression corpus in fuzz/corpus/<target>. Usage: scripts/fuzz.sh [SECONDS] [extra libFuzzer args]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}; shift || true
cmake --preset fuzz >/dev/null  # clang, into build-fuzz/
targets=$(cd fuzz && ls fuzz_*.cpp 2>/dev/null | sed 's/\.cpp$//')
[ -n "$targets" ] || { echo "fuzz: no targets"; exit 0; }
cmake --build --preset fuzz -j "$(nproc)" --target $targets
for t in $targets; do
  work=$(mktemp -d)
  [ -d "fuzz/corpus/$t" ] && cp -r "fuzz/corpus/$t/." "$work/"
  echo "== $t for ${seconds}s"
  rc=0
  ./build-fuzz/fuzz/$t -max_total_time="$seconds" -print_final_stats=1 "$@" "$work" >"$work.log" 2>&1 || rc=$?
  grep -E 'stat::number_of_executed_units|^Done|ERROR|SUMMARY|Test unit written' "$work.log" || true
  rm -f "$work.log"
  rm -rf "$work"
  [ "$rc" -eq 0 ] || { echo "fuzz: $t failed (exit $rc)"; exit 1; }
done
