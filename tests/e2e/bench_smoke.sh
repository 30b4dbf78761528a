#!/usr/bin/env bash
# CI's benchmark smoke test: the real mqttsn-bench drives the real mqttsn-gw (store on) with its
# "smoke" scenario (1,000 QoS 1 messages from 2 clients, side by side with a direct Paho publisher)
# and must complete and report. It asserts no speed: benchmarks are not tests.
# Usage: bench_smoke.sh BUILD_DIR
set -euo pipefail
build=$1
work=$(mktemp -d /tmp/mqttsn-bench-smoke.XXXXXX)
trap 'rm -rf "$work"' EXIT
# free_port and start_mosquitto.
# shellcheck source=scripts/mosquitto-lib.sh
. "$(dirname "$0")/../../scripts/mosquitto-lib.sh"
port=$(free_port)
cat > "$work/gateway.toml" <<TOML
[gateway]
id = 1
advertise_interval = "0s"
[[link]]
kind = "udp"
name = "udp"
bind_address = "127.0.0.1"
port = $port
broadcast_address = ""
[upstream]
servers = ["tcp://127.0.0.1:1"]
[status]
socket = "$work/status.sock"
[store]
enabled = true
path = "$work/state.db"
TOML
# The gateway and the bench's subscriber must share one broker: start it here, tell both.
start_mosquitto "$work"
mport=$MOSQUITTO_PORT
mpid=$MOSQUITTO_PID
trap 'kill $mpid 2>/dev/null; wait $mpid 2>/dev/null; rm -rf "$work"' EXIT
sed -i "s|tcp://127.0.0.1:1|tcp://127.0.0.1:$mport|" "$work/gateway.toml"
"$build/tools/bench/mqttsn-bench" --scenario smoke --broker "127.0.0.1:$mport" --gateway "127.0.0.1:$port" \
  --gateway-cmd "$build/gateway/app/mqttsn-gw" --gateway-config "$work/gateway.toml" \
  --gateway-log "$work/gateway.log" --json-out "$work/smoke.jsonl"
# It reported: one JSON line for the scenario.
test "$(wc -l < "$work/smoke.jsonl")" -ge 1
