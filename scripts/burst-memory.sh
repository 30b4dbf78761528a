#!/usr/bin/env bash
# The gateway's memory after bursts: one UDP node sends B bursts of N QoS 0 readings as fast as it can
# (faster than the broker takes them); the gateway's RSS is sampled before, after each burst has
# drained, and after a few idle seconds.
#
#   scripts/burst-memory.sh [bursts] [readings per burst]    # defaults: 3 200000
#   GW=/other/build/gateway/app/mqttsn-gw scripts/burst-memory.sh    # another gateway binary
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench-lib.sh
source "$here/bench-lib.sh"
bursts=${1:-3}
count=${2:-200000}
bench_binaries

bench_workdir

start_mosquitto "$dir"
pids+=("$MOSQUITTO_PID")
udp_port=$(free_port)
write_gateway_config "$dir/gateway.toml" "$udp_port" "$(free_port)" "$MOSQUITTO_PORT" "$dir"
# The daemon's own queue bounds, not the benchmarks' larger ones: this measures the default.
sed -i 's/^max_messages = .*/max_messages = 10000/; s/^max_bytes = .*/max_bytes = 8388608/' "$dir/gateway.toml"
"$gw_bin" --config "$dir/gateway.toml" >"$dir/gw.log" 2>&1 &
gw=$!
pids+=("$gw")
sleep 1

rss_kb() { awk '/^VmRSS/ {r = $2} /^RssAnon/ {a = $2} /^RssFile/ {f = $2} END {print r " (anonymous " a ", files " f ")"}' "/proc/$gw/status"; }
upstream_counter() { "$ctl_bin" --json --socket "$dir/status.sock" stats 2>/dev/null | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }
echo "idle before: $(rss_kb) kB"
for ((b = 1; b <= bursts; ++b)); do
  "$bench_bin" --gateway "127.0.0.1:$udp_port" --broker "127.0.0.1:$MOSQUITTO_PORT" --no-direct --quiet \
    --qos 0 --clients 1 --count "$count" --rate 0 --drain-ms 2000 >"$dir/bench$b.log" 2>&1 || true
  peak=$(awk '/^VmHWM/ {print $2}' "/proc/$gw/status")
  echo "burst $b: RSS $(rss_kb) kB after the drain (peak so far $peak kB); QoS 0 published $(upstream_counter published_qos0), dropped while connected $(upstream_counter dropped_qos0)"
done
sleep 5
echo "idle after: $(rss_kb) kB"
