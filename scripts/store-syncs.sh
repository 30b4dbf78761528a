#!/usr/bin/env bash
# Syncs per QoS 1 (or QOS=2) message with the store on: a gateway (store in a temp dir) under mqttsn-bench load
# (CLIENTS x WINDOW in flight, COUNT messages), strace counting its fsync/fdatasync calls, then
# `mqttsn-gwctl store` (commits, rows written, file size). Usage: BUILD_DIR=build scripts/store-syncs.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v strace >/dev/null || { echo "store-syncs: needs strace (apt-get install -y strace)" >&2; exit 1; }
B=${BUILD_DIR:-build}
d=$(mktemp -d)
# shellcheck source=scripts/mosquitto-lib.sh
. scripts/mosquitto-lib.sh
start_mosquitto "$d"
bport=$MOSQUITTO_PORT
mpid=$MOSQUITTO_PID
uport=$(free_port)
cat > $d/gw.toml <<T
[gateway]
id = 1
[[link]]
kind = "udp"
name = "udp"
bind_address = "127.0.0.1"
port = $uport
broadcast_address = ""
[upstream]
servers = ["tcp://127.0.0.1:$bport"]
[status]
socket = "$d/s.sock"
[store]
enabled = true
path = "$d/state.db"
T
$B/gateway/app/mqttsn-gw --config $d/gw.toml > $d/gw.log 2>&1 & gpid=$!
sleep 1
strace -f -c -e trace=fsync,fdatasync -p $gpid -o $d/strace.txt & spid=$!
sleep 0.5
$B/tools/bench/mqttsn-bench --broker 127.0.0.1:$bport --gateway 127.0.0.1:$uport --gateway-pid $gpid \
  --clients ${CLIENTS:-50} --window ${WINDOW:-10} --qos ${QOS:-1} --count ${COUNT:-10000} --no-direct --quiet --json-out $d/r.json || true
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); g=r["gateway"]; print("throughput msgs/s:", g["rate"], "elapsed s:", g["elapsed_s"], "delivered:", g["delivered"], "dup:", g["duplicates"])' $d/r.json 2>/dev/null || true
$B/tools/gwctl/mqttsn-gwctl --socket $d/s.sock store
kill -INT $spid; sleep 0.5
cat $d/strace.txt
ls -l $d/state.db* 
kill $gpid; sleep 1; kill $mpid
