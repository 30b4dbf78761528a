#!/usr/bin/env bash
# Runs the standard scenarios with mqttsn-bench: a private mosquitto on a free port, and for
# each scenario a fresh mqttsn-gw (started by the bench from the TOML written below), measured side by
# side with a direct Paho publisher. Writes a markdown table and JSON lines (date, machine, commit).
#
#   scripts/bench.sh                     # every standard scenario -> tools/bench/results/results-<date>.md
#   scripts/bench.sh qos1-latency idle   # only these
#   scripts/bench.sh --smoke             # CI: self-test + 1,000 QoS 1 msgs from 2 clients; must complete
#                                        # and report, asserts no speed
#   scripts/bench.sh --out FILE.md       # table here (JSON lines go to FILE.jsonl)
#
# Environment: BUILD_DIR (default build-release, the release preset's; another directory that is
# configured already is built as it is, never reconfigured), RESULTS_DIR (default tools/bench/results),
# GATEWAY_BIN (default $BUILD_DIR/gateway/app/mqttsn-gw), BENCH_RCVBUF (the measured UDP link's
# receive_buffer, default 32M), BENCH_STORE=0 turns the gateway's SQLite store off (default on, as
# deployed), BENCH_QOS2_EXACTLY_ONCE=0 sets the store's qos2_exactly_once = false (the MQTT client
# without persistence), BENCH_ARGS (extra options for every mqttsn-bench run).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build-release}
RESULTS_DIR=${RESULTS_DIR:-tools/bench/results}
BENCH_STORE=${BENCH_STORE:-1}
BENCH_QOS2_EXACTLY_ONCE=${BENCH_QOS2_EXACTLY_ONCE:-1}
STANDARD=(idle qos0-1client qos0-50clients qos1-window10 qos1-50clients qos1-latency connect-storm capacity-10k xbee-200)

smoke=0
out=""
scenarios=()
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) smoke=1 ;;
    --out) out=$2; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) scenarios+=("$1") ;;
  esac
  shift
done
if [ "$smoke" = 1 ]; then scenarios=(smoke); fi
if [ ${#scenarios[@]} -eq 0 ]; then scenarios=("${STANDARD[@]}"); fi

# The gateway's configuration (write_gateway_config: the one place to change when the daemon's format
# changes), free_port and start_mosquitto.
# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh

echo "== build in $BUILD_DIR"
# A tree configured for something else (the tests' build/) keeps its options: only the release
# preset's own tree, or a new one, is configured here.
if [ "$BUILD_DIR" = build-release ] || [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake --preset release -B "$BUILD_DIR" >/dev/null
fi
targets=(mqttsn-bench mqttsn-xbee-bench)
[ -z "${GATEWAY_BIN:-}" ] && targets+=(mqttsn-gw)
cmake --build "$BUILD_DIR" -j "$(nproc)" --target "${targets[@]}"
bench="$BUILD_DIR/tools/bench/mqttsn-bench"
gateway_bin=${GATEWAY_BIN:-$BUILD_DIR/gateway/app/mqttsn-gw}

"$bench" --self-test
xbee_parser=""
for s in "${scenarios[@]}"; do
  # The serial path's parser alone (no pty, no gateway): how many 921,600-baud lines it could keep up with.
  if [ "$s" = xbee-200 ]; then xbee_parser=$("$BUILD_DIR/tools/xbee-bench/mqttsn-xbee-bench" 2); fi
done

run=$(mktemp -d /tmp/mqttsn-bench-run.XXXXXX)
mosquitto_pid=""
cleanup() {
  local rc=$?
  if [ -n "$mosquitto_pid" ]; then kill "$mosquitto_pid" 2>/dev/null || true; wait "$mosquitto_pid" 2>/dev/null || true; fi
  if [ "$rc" = 0 ]; then rm -rf "$run"; else echo "bench.sh: logs kept in $run" >&2; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# No queue caps: a subscriber that falls behind gets its messages late, not never, so a loss is the
# gateway's and not the meter's.
start_mosquitto "$run" "max_queued_messages 0" "max_inflight_messages 0"
mqtt_port=$MOSQUITTO_PORT
mosquitto_pid=$MOSQUITTO_PID

date_tag=$(date -u +%Y-%m-%d)
if [ -z "$out" ]; then
  if [ "$smoke" = 1 ]; then out="$BUILD_DIR/bench-smoke.md"; else mkdir -p "$RESULTS_DIR"; out="$RESULTS_DIR/results-$date_tag.md"; fi
fi
jsonl="${out%.md}.jsonl"
rows="$run/rows.md"
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || commit="$commit-dirty"

status=0
for s in "${scenarios[@]}"; do
  udp_port=$(free_port)
  udp_port2=$(free_port)
  mkdir -p "$run/$s"
  extra=()
  xbee_pty=""
  if [ "$s" = xbee-200 ]; then xbee_pty="$run/$s/xbee.pty"; extra=(--xbee-pty "$xbee_pty"); fi
  write_gateway_config "$run/gateway-$s.toml" "$udp_port" "$udp_port2" "$mqtt_port" "$run/$s" "$xbee_pty"
  # shellcheck disable=SC2086
  "$bench" --scenario "$s" "${extra[@]}" --broker "127.0.0.1:$mqtt_port" --gateway "127.0.0.1:$udp_port" \
    --gateway-cmd "$gateway_bin" --gateway-config "$run/gateway-$s.toml" --gateway-log "$run/gateway-$s.log" \
    --json-out "$jsonl" --markdown-out "$rows" --commit "$commit" ${BENCH_ARGS:-} || status=1
done

{
  echo "# mqttsn-bench results"
  echo
  echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "- machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), kernel $(uname -r)"
  echo "- commit: $commit"
  echo "- command: \`scripts/bench.sh ${scenarios[*]}\` (gateway, broker and load share this machine)"
  echo "- gateway: fresh \`mqttsn-gw\` per scenario, SQLite store $([ "$BENCH_STORE" = 1 ] && echo on || echo off);" \
       "direct = one Paho MQTTAsync publisher straight to the same mosquitto (TCP_NODELAY), same QoS and in-flight count"
  echo
  "$bench" --markdown-header
  [ -f "$rows" ] && cat "$rows"
  if [ -n "$xbee_parser" ]; then
    echo
    echo "XBee API frame parser alone (\`mqttsn-xbee-bench 2\`, 0x90 frames fed 256 bytes at a time):"
    echo
    echo "$xbee_parser" | sed 's/^/    /'
  fi
} > "$out"
echo "== table: $out   JSON lines: $jsonl"
cat "$out"
exit "$status"
