#!/usr/bin/env bash
# What one connection per node costs against the shared connection, measured side by side in one run:
# [upstream] mode = "shared" and mode = "per_node" (every node its own MQTT connection, anonymous
# identities from a credentials file of one `%c` line), each with a fresh gateway and mosquitto, the
# store off in both (per-node publishes are acknowledged by the node's own connection, not the store),
# alternating ROUNDS times so that machine noise falls on both:
#
#   field   10 nodes, 100 QoS 1 readings/s in total, 20 s: CPU per reading, RSS
#   peak    50 clients, QoS 1, window 10, 20,000 messages flat out: msg/s, CPU per message, RSS
#
#   scripts/per-node-bench.sh                  # -> tools/bench/results/per-node-<date>.md (+ .jsonl)
#   ROUNDS=1 DURATION=10 scripts/per-node-bench.sh --out /tmp/pn.md
#
# Environment: BUILD_DIR (default build-release, configured with the release preset if new), ROUNDS (2),
# DURATION (field seconds, 20), COUNT (peak messages, 20000), RESULTS_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build-release}
RESULTS_DIR=${RESULTS_DIR:-tools/bench/results}
rounds=${ROUNDS:-2}
duration=${DURATION:-20}
count=${COUNT:-20000}
out=""
[ "${1:-}" = --out ] && out=$2

# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh

[ -f "$BUILD_DIR/CMakeCache.txt" ] || cmake --preset release -B "$BUILD_DIR" >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)" --target mqttsn-bench mqttsn-gw >/dev/null
bench="$BUILD_DIR/tools/bench/mqttsn-bench"
gateway_bin=$(realpath "$BUILD_DIR/gateway/app/mqttsn-gw")

run=$(mktemp -d /tmp/mqttsn-per-node.XXXXXX)
trap 'rm -rf "$run"' EXIT
mkdir -p "$RESULTS_DIR"
[ -n "$out" ] || out="$RESULTS_DIR/per-node-$(date -u +%Y-%m-%d).md"
jsonl="${out%.md}.jsonl"
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || commit="$commit-dirty"

udp_port=$(free_port)
udp_port2=$(free_port)
mqtt_port=$(free_port)
BENCH_STORE=0
for round in $(seq "$rounds"); do
  for mode in shared per_node; do
    d="$run/$mode-$round"
    mkdir -p "$d"
    echo '%c' > "$d/node-credentials"
    BENCH_UPSTREAM_EXTRA="mode = \"$mode\"
credentials_file = \"$d/node-credentials\""
    write_gateway_config "$d/gateway.toml" "$udp_port" "$udp_port2" "$mqtt_port" "$d"
    for scenario in field peak; do
      echo "== round $round: $mode, $scenario"
      args=(--scenario field --duration "$duration")
      [ "$scenario" = peak ] && args=(--scenario qos1-50clients --count "$count" --no-direct)
      "$bench" "${args[@]}" --label "$mode $scenario" --quiet \
        --mosquitto-port "$mqtt_port" --gateway "127.0.0.1:$udp_port" \
        --gateway-cmd "$gateway_bin" --gateway-config "$d/gateway.toml" --gateway-log "$d/gateway-$scenario.log" \
        --json-out "$run/runs.jsonl" --commit "$commit"
    done
  done
done

# One row per run: rate, the gateway's CPU per message, RSS after, losses.
{
  echo "# Per-node upstream against the shared connection"
  echo
  echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ); commit $commit; $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
  echo "- command: \`ROUNDS=$rounds DURATION=$duration COUNT=$count scripts/per-node-bench.sh\` (gateway, broker and load share this machine; store off)"
  echo "- field: 10 nodes, 100 QoS 1 readings/s, ${duration} s; peak: 50 clients, QoS 1, window 10, $count messages flat out"
  echo
  echo "| variant | delivered | lost (acked) | msg/s | gateway CPU µs/msg | RSS after kB | broker connections |"
  echo "|---|---|---|---|---|---|---|"
  python3 - "$run/runs.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    g = r.get("gateway", r)
    p = g.get("proc", {}) or {}
    cpu = g.get("cpu_us_per_msg") or 0
    conns = "50 + 1" if "per_node peak" in r.get("variant", "") else ("10 + 1" if "per_node" in r.get("variant", "") else "1")
    print(f"| {r.get('variant')} | {g.get('delivered')} | {g.get('lost_acked', g.get('lost'))} | "
          f"{g.get('rate', 0):.0f} | {cpu:.1f} | {p.get('rss_kb', '-')} | {conns} |")
PY
} > "$out"
cat "$run/runs.jsonl" >> "$jsonl"
cat "$out"
