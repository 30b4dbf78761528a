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
# Each libFuzzer run is one process on one core: the targets run side by side, as many at a time as
# there are cores, so the fuzzing time is the same and the wall time is 1/nproc of it.
run_one() {
  local t=$1 work rc=0
  work=$(mktemp -d)
  [ -d "fuzz/corpus/$t" ] && cp -r "fuzz/corpus/$t/." "$work/"
  ./build-fuzz/fuzz/$t -max_total_time="$seconds" -print_final_stats=1 "${extra[@]}" "$work" >"$work.log" 2>&1 || rc=$?
  {
    echo "== $t for ${seconds}s"
    grep -E 'stat::number_of_executed_units|^Done|ERROR|SUMMARY|Test unit written' "$work.log" || true
    [ "$rc" -eq 0 ] || echo "fuzz: $t failed (exit $rc)"
  } >"$work.summary"
  cat "$work.summary"
  rm -rf "$work" "$work.log" "$work.summary"
  return "$rc"
}
extra=("$@")
failed=0
pids=()
for t in $targets; do
  run_one "$t" &
  pids+=($!)
  if [ "${#pids[@]}" -ge "$(nproc)" ]; then
    wait "${pids[0]}" || failed=1
    pids=("${pids[@]:1}")
  fi
done
for p in "${pids[@]}"; do wait "$p" || failed=1; done
[ "$failed" -eq 0 ] || { echo "fuzz: a target failed"; exit 1; }
