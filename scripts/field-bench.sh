#!/usr/bin/env bash
# The field profile of mqttsn-bench: what one reading costs the gateway at field rates (10 UDP nodes,
# 100 QoS 1 readings/s in total, 32 octets, one in flight per node), in CPU, bytes written to disk,
# syncs, PUBACK latency, losses and memory. Its variants run one after the other in this one
# invocation, each with a fresh gateway, its own store directory and its own mosquitto (started by the
# bench on the same port), so that machine noise is shared:
#
#   store-on       the store on, as deployed (the configuration of scripts/bench-lib.sh)
#   store-off      [store] enabled = false
#   qos0           store on, QoS 0 readings at the same rate
#   slow-disk      store on, the gateway started with MQTTSN_STORE_SYNC_DELAY_MS=20 (a test knob of the
#                  store's VFS: every sync takes 20 ms longer; ignored by a gateway without it)
#   broker-outage  store on, mosquitto stopped (SIGTERM) for a third of the run in its middle (20 s of
#                  60 s) and started again on the same port; the subscriber keeps its session
#   per-node       store on, [upstream] mode = "per_node": each node its own broker connection
#                  (anonymous identities, one `%c` line in a credentials file)
#   per-node-outage  per-node with the broker outage of broker-outage
#   broker-nodelay store on, mosquitto with `set_tcp_nodelay true`: without it mosquitto holds a
#                  PUBACK back (Nagle) while the gateway has not yet acknowledged its last segment at
#                  the TCP level, which the gateway does with its next PUBLISH (or Linux's delayed-ACK
#                  timer): every reading's PUBACK then waits for the next reading
#
#   scripts/field-bench.sh                      # 60 s per variant -> tools/bench/results/field-<date>.md (+ .jsonl)
#   scripts/field-bench.sh --duration 10        # 10 s per variant (the outage is then 3.3 s)
#   scripts/field-bench.sh --smoke              # 5 s per variant, table in $BUILD_DIR/field-smoke.md
#   scripts/field-bench.sh --strace-syncs       # also count fsync/fdatasync with strace (slows the gateway:
#                                               # its CPU figures are then not comparable)
#   scripts/field-bench.sh store-on store-off   # only these variants
#   scripts/field-bench.sh --out FILE.md        # table here (JSON lines go to FILE.jsonl)
#
# Environment: BUILD_DIR (default build-release; configured with the release preset when it has no
# CMakeCache.txt yet, otherwise built as it is), RESULTS_DIR (default tools/bench/results), GATEWAY_BIN (default
# $BUILD_DIR/gateway/app/mqttsn-gw), FIELD_DIR (where the run's stores live, default /var/tmp: it must be
# the disk being measured, not a tmpfs), OUTAGE (seconds of the broker outage, default a third of the
# duration), BENCH_ARGS (extra options for every mqttsn-bench run).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build-release}
RESULTS_DIR=${RESULTS_DIR:-tools/bench/results}
FIELD_DIR=${FIELD_DIR:-/var/tmp}
ALL=(store-on store-off qos0 slow-disk broker-outage per-node per-node-outage broker-nodelay)

duration=60
smoke=0
strace_syncs=0
out=""
variants=()
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration=$2; shift ;;
    --smoke) smoke=1; duration=5 ;;
    --strace-syncs) strace_syncs=1 ;;
    --out) out=$2; shift ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    store-on|store-off|qos0|slow-disk|broker-outage|per-node|per-node-outage|broker-nodelay) variants+=("$1") ;;
    *) echo "field-bench.sh: unknown argument '$1' (variants: ${ALL[*]})" >&2; exit 2 ;;
  esac
  shift
done
[ ${#variants[@]} -eq 0 ] && variants=("${ALL[@]}")
outage=${OUTAGE:-$(awk -v d="$duration" 'BEGIN { printf "%.1f", d / 3 }')}

# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh

if [ "$strace_syncs" = 1 ] && ! command -v strace >/dev/null; then
  echo "== installing strace"
  apt-get install -y strace >/dev/null || { apt-get update >/dev/null && apt-get install -y strace >/dev/null; }
fi

echo "== build in $BUILD_DIR"
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake --preset release -B "$BUILD_DIR" >/dev/null
fi
targets=(mqttsn-bench)
[ -z "${GATEWAY_BIN:-}" ] && targets+=(mqttsn-gw)
cmake --build "$BUILD_DIR" -j "$(nproc)" --target "${targets[@]}"
bench="$BUILD_DIR/tools/bench/mqttsn-bench"
gateway_bin=$(realpath "${GATEWAY_BIN:-$BUILD_DIR/gateway/app/mqttsn-gw}")
"$bench" --self-test

mkdir -p "$FIELD_DIR"
run=$(mktemp -d "$FIELD_DIR/mqttsn-field.XXXXXX")
fs_type=$(findmnt -n -o FSTYPE -T "$run" 2>/dev/null || stat -f -c %T "$run")
if [ "$fs_type" = tmpfs ] || [ "$fs_type" = ramfs ]; then
  echo "field-bench.sh: WARNING: $FIELD_DIR is $fs_type: nothing reaches a disk, write_bytes stays 0 (set FIELD_DIR)" >&2
fi
cleanup() {
  local rc=$?
  if [ "$rc" = 0 ]; then rm -rf "$run"; else echo "field-bench.sh: logs kept in $run" >&2; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

date_tag=$(date -u +%Y-%m-%d)
if [ -z "$out" ]; then
  if [ "$smoke" = 1 ]; then out="$BUILD_DIR/field-smoke.md"; else mkdir -p "$RESULTS_DIR"; out="$RESULTS_DIR/field-$date_tag.md"; fi
fi
jsonl="${out%.md}.jsonl"
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || commit="$commit-dirty"

# One set of ports for every variant (they run one after the other): the configurations then differ
# only where the variants do.
udp_port=$(free_port)
udp_port2=$(free_port)
mqtt_port=$(free_port)
status=0
for v in "${variants[@]}"; do
  mkdir -p "$run/$v"
  extra=()
  BENCH_UPSTREAM_EXTRA=""
  case "$v" in
    store-off) BENCH_STORE=0 ;;
    qos0) BENCH_STORE=1; extra=(--qos 0) ;;
    slow-disk) BENCH_STORE=1; extra=(--gateway-env MQTTSN_STORE_SYNC_DELAY_MS=20) ;;
    broker-outage|per-node-outage) BENCH_STORE=1; extra=(--broker-outage "$outage") ;;
    broker-nodelay) BENCH_STORE=1; extra=(--mosquitto-line "set_tcp_nodelay true") ;;
    *) BENCH_STORE=1 ;;
  esac
  case "$v" in
    per-node*)
      echo '%c' > "$run/$v/node-credentials"
      BENCH_UPSTREAM_EXTRA="mode = \"per_node\"
credentials_file = \"$run/$v/node-credentials\"" ;;
  esac
  [ "$strace_syncs" = 1 ] && extra+=(--strace-syncs)
  write_gateway_config "$run/$v/gateway.toml" "$udp_port" "$udp_port2" "$mqtt_port" "$run/$v"
  echo "== $v"
  # shellcheck disable=SC2086
  "$bench" --scenario field --duration "$duration" --label "$v" "${extra[@]}" \
    --mosquitto-port "$mqtt_port" --gateway "127.0.0.1:$udp_port" \
    --gateway-cmd "$gateway_bin" --gateway-config "$run/$v/gateway.toml" --gateway-log "$run/$v/gateway.log" \
    --json-out "$run/field.jsonl" --commit "$commit" ${BENCH_ARGS:-} || status=1
done

# The configuration of each variant, its run directory written as <run>/<variant>: store-on in full,
# the others as their differences from it.
config_of() { sed "s#$run/$1#<run>/<variant>#g" "$run/$1/gateway.toml"; }
{
  echo "# mqttsn-bench field profile: the cost of one reading"
  echo
  echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "- machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), kernel $(uname -r)"
  echo "- commit: $commit"
  echo "- command: \`scripts/field-bench.sh --duration $duration$([ "$strace_syncs" = 1 ] && echo ' --strace-syncs') ${variants[*]}\`" \
       "(gateway, broker and load share this machine)"
  echo "- load: 10 UDP nodes, 100 readings/s in total (10/s each, paced), 32 octets, window 1 per node," \
       "retry after 1 s; $duration s per variant; broker-outage: mosquitto down $outage s in the middle"
  echo "- stores on $fs_type ($FIELD_DIR); a fresh gateway, store directory and mosquitto per variant, in the order of the table"
  echo
  "$bench" --field-table "$run/field.jsonl" --baseline store-off
  echo
  echo "Per reading: a window's total / the readings the nodes sent; the window opens when the nodes are"
  echo "registered and closes 1 s after the last delivery (the gateway's idle cost is part of a reading's)."
  echo "CPU: the gateway's utime+stime (/proc/PID/stat). Disk: its write_bytes (/proc/PID/io: pages it dirtied"
  echo "for the block layer, 4 KiB each) / its store's own count (status socket \`store\`, \`bytes_written\`)."
  echo "Syncs: the store's own count (\`syncs\`) / strace's count of fsync+fdatasync. \`-\`: not reported by"
  echo "this gateway, or not measured (strace without --strace-syncs). Lost: readings"
  echo "acknowledged to a node that never reached the broker's subscriber (QoS 0: any reading that did not)."
  echo
  if [ -f "$run/store-on/gateway.toml" ]; then
    echo "Gateway configuration (store-on):"
    echo
    echo '```toml'
    config_of store-on
    echo '```'
    same=()
    for v in "${variants[@]}"; do
      [ "$v" = store-on ] && continue
      d=$(diff -u --label store-on --label "$v" <(config_of store-on) <(config_of "$v") || true)
      if [ -z "$d" ]; then same+=("$v"); continue; fi
      echo
      echo "$v:"
      echo
      echo '```diff'
      echo "$d"
      echo '```'
    done
    if [ ${#same[@]} -gt 0 ]; then
      echo
      echo "The same configuration as store-on: ${same[*]}."
    fi
  fi
} > "$out"
cat "$run/field.jsonl" >> "$jsonl"
echo "== table: $out   JSON lines: $jsonl"
cat "$out"
exit "$status"
