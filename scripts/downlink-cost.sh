#!/usr/bin/env bash
# The cost of downlink to kept sessions on this machine: N simulated nodes (CleanSession=0) subscribe
# at QoS 1 to cmd/<client id>; a broker-side publisher sends M QoS 1 messages round-robin as fast as
# the broker takes them; the gateway's written bytes (/proc/PID/io write_bytes), its store syncs
# (mqttsn-gwctl store) and the time until every node has its messages are reported per message.
#
#   scripts/downlink-cost.sh awake 50 2000     # nodes awake, acknowledging at once
#   scripts/downlink-cost.sh asleep 50 2000    # nodes asleep (they wake every 2 s to collect)
#   AWAKE_EVERY=30s scripts/downlink-cost.sh asleep 5 2000   # long sleeps: 400 messages buffered each
#   BENCH_LIMITS_EXTRA='sleep_buffer_per_client = 1000'      # more [gateway.limits] lines
#   PUBLISH_RATE=20 ...                                       # each publisher paced to 20 messages/s
#   GW=/other/build/gateway/app/mqttsn-gw scripts/downlink-cost.sh awake   # another gateway binary
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench-lib.sh
source "$here/bench-lib.sh"
mode=${1:-awake}
nodes=${2:-50}
messages=${3:-2000}
bench_binaries

bench_workdir

start_mosquitto "$dir" "max_queued_messages 100000"
pids+=("$MOSQUITTO_PID")
broker_port=$MOSQUITTO_PORT
udp_port=$(free_port)
write_gateway_config "$dir/gateway.toml" "$udp_port" "$(free_port)" "$broker_port" "$dir"
"$gw_bin" --config "$dir/gateway.toml" >"$dir/gw.log" 2>&1 &
gw=$!
pids+=("$gw")
sleep 0.5

sim_args=(--udp "127.0.0.1:$udp_port" -n "$nodes" --client-id "dl%n" --persistent --subscribe "cmd/dl%n"
  --sub-qos 1 --qos 0 --period 3600s --keep-alive 600)
[ "$mode" = asleep ] && sim_args+=(--sleep 600s --awake-every "${AWAKE_EVERY:-2s}")
"$sim_bin" "${sim_args[@]}" >"$dir/sim.log" 2>&1 &
pids+=($!)

store_field() { "$ctl_bin" --json --socket "$dir/status.sock" store 2>/dev/null | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }
upstream_counter() { "$ctl_bin" --json --socket "$dir/status.sock" stats 2>/dev/null | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }
down_count() { "$ctl_bin" --json --socket "$dir/status.sock" stats 2>/dev/null | sed -n 's/.*"publishes_down":\([0-9]*\).*/\1/p'; }
for _ in $(seq 100); do
  [ "$("$ctl_bin" --json --socket "$dir/status.sock" clients 2>/dev/null | grep -o '"client_id"' | wc -l)" -ge "$nodes" ] && break
  sleep 0.1
done
sleep 1

io_before=$(awk '/^write_bytes/ {print $2}' "/proc/$gw/io")
syncs_before=$(store_field syncs)
down_before=$(down_count)
start=$(date +%s.%N)
# One publishing client per node (mosquitto_pub -l: a message per line), all at once.
per_node=$((messages / nodes))
messages=$((per_node * nodes))
paced() { # the numbers 1..N, one line each, at PUBLISH_RATE lines per second (unpaced without it)
  if [ -z "${PUBLISH_RATE:-}" ]; then seq "$1"; return; fi
  local pause; pause=$(echo "scale=4; 1 / $PUBLISH_RATE" | bc)
  for ((i = 1; i <= $1; i++)); do echo "$i"; sleep "$pause"; done
}
for ((k = 1; k <= nodes; k++)); do
  paced "$per_node" | mosquitto_pub -p "$broker_port" -q 1 -t "cmd/dl$k" -l &
done
wait_publishers() { for p in $(jobs -p); do case " ${pids[*]} " in *" $p "*) ;; *) wait "$p" ;; esac; done; }
wait_publishers
for _ in $(seq 1200); do
  [ $(($(down_count) - down_before)) -ge "$messages" ] && break
  sleep 0.1
done
end=$(date +%s.%N)
io_after=$(awk '/^write_bytes/ {print $2}' "/proc/$gw/io")
syncs_after=$(store_field syncs)
down_after=$(down_count)
delivered=$((down_after - down_before))
awk -v m="$mode" -v n="$nodes" -v msgs="$messages" -v d="$delivered" -v b=$((io_after - io_before)) \
  -v s=$((syncs_after - syncs_before)) -v t="$(echo "$end - $start" | bc)" 'BEGIN {
    printf "%s, %d nodes: %d messages, %d delivered in %.2f s (%.0f/s); %.0f bytes and %.2f syncs written per message\n",
      m, n, msgs, d, t, d / t, b / (d ? d : 1), s / (d ? d : 1) }'
echo "held and acknowledged by the nodes: $(upstream_counter acked_by_nodes); written to the inbox: $(upstream_counter inbox_written)"
