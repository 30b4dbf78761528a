#!/usr/bin/env bash
# The gateway's main job, end to end, on one machine: a private mosquitto on a free loopback port;
# simulated sensor nodes behind a simulated XBee coordinator on a pseudo-terminal, and more nodes on
# UDP; mqttsn-gw between them and the broker. Shows readings arriving at the broker, a command going
# down to one node, and what the status socket says. Stops after DEMO_SECONDS (default 30) or on
# Ctrl-C, and leaves no process behind.
# Usage: scripts/run-demo.sh [BUILD_DIR]   (default build-release, what scripts/demo.sh builds)
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(cd "${1:-build-release}" && pwd)
seconds=${DEMO_SECONDS:-30}
gw=$build/gateway/app/mqttsn-gw
sim=$build/tools/sim/mqttsn-sim
gwctl=$build/tools/gwctl/mqttsn-gwctl
for b in "$gw" "$sim" "$gwctl"; do [ -x "$b" ] || { echo "demo: $b is missing: build first" >&2; exit 1; }; done

work=$(mktemp -d /tmp/mqttsn-demo.XXXXXX)
pids=()
cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted, stopping"; exit 0' INT TERM

# free_port and start_mosquitto.
# shellcheck source=scripts/mosquitto-lib.sh
. scripts/mosquitto-lib.sh
prefix() { sed -u "s/^/$1 /"; }  # labels each program's lines

start_mosquitto "$work"
pids+=("$MOSQUITTO_PID")
broker_port=$MOSQUITTO_PORT
echo "== mosquitto on 127.0.0.1:$broker_port"
udp_port=$(free_port)
while [ "$udp_port" = "$broker_port" ]; do udp_port=$(free_port); done

# The readings, the commands, the gateway's presence, and each node's availability as a dashboard
# sees them (the nodes' JSON descriptions are there too: mqttsn-gw/+/nodes/+).
topics=(-t 'sensors/#' -t 'cmd/#' -t 'mqttsn-gw/+/status' -t 'mqttsn-gw/+/nodes/+/availability')
echo "== broker-side subscriber: mosquitto_sub -h 127.0.0.1 -p $broker_port -v ${topics[*]}"
mosquitto_sub -h 127.0.0.1 -p "$broker_port" -v "${topics[@]}" > >(prefix "[broker ]") 2>&1 &
pids+=($!)

cat >"$work/predefined-topics.conf" <<CONF
# id, topic[, client id]: ids the nodes know without REGISTER
1, sensors/announcements
CONF
cat >"$work/gateway.toml" <<CONF
[gateway]
id = 1
advertise_interval = "10s"
predefined_topics_file = "predefined-topics.conf"

[[link]]
kind = "xbee"
name = "xbee"
device = "$work/xbee-coordinator"   # the simulator's pseudo-terminal
baud = 115200
api_mode = 2

[[link]]
kind = "udp"
name = "udp"
bind_address = "127.0.0.1"
port = $udp_port
broadcast_address = "127.255.255.255"
broadcast_port = $udp_port

[upstream]
servers = ["tcp://127.0.0.1:$broker_port"]
client_id = "mqttsn-gw-demo"
presence_topic = "mqttsn-gw/demo/state"

[status]
socket = "$work/status.sock"

[store]
enabled = true
path = "$work/state.db"
CONF

echo "== simulated XBee coordinator with 3 nodes on a pseudo-terminal ($work/xbee-coordinator)"
"$sim" --link "$work/xbee-coordinator" --api 2 -n 3 --client-id 'xbee-node%n' -t 'sensors/xbee-node%n/temperature' \
  -q 1 -p 3s -s 'cmd/xbee-node%n/#' -d "${seconds}s" > >(prefix "[xbee   ]") 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -e "$work/xbee-coordinator" ] && break; sleep 0.1; done

echo "== mqttsn-gw --config $work/gateway.toml"
"$gw" --config "$work/gateway.toml" > >(prefix "[gateway]") 2>&1 &
gw_pid=$!
pids+=($gw_pid)
for _ in $(seq 100); do "$gwctl" -s "$work/status.sock" version >/dev/null 2>&1 && break; sleep 0.1; done

echo "== 2 nodes over UDP to 127.0.0.1:$udp_port"
"$sim" --udp "127.0.0.1:$udp_port" -n 2 --client-id 'udp-node%n' -t 'sensors/udp-node%n/humidity' \
  -q 0 -p 4s -s 'cmd/udp-node%n/#' -d "${seconds}s" > >(prefix "[udp    ]") 2>&1 &
pids+=($!)

sleep 8
echo
echo "== a command through the broker: mosquitto_pub -h 127.0.0.1 -p $broker_port -t cmd/xbee-node1/led -m on -q 1"
mosquitto_pub -h 127.0.0.1 -p "$broker_port" -t cmd/xbee-node1/led -m on -q 1
sleep 2
echo
echo "== mqttsn-gwctl clients"
"$gwctl" -s "$work/status.sock" clients
echo
echo "== mqttsn-gwctl topics"
"$gwctl" -s "$work/status.sock" topics
echo
echo "== mqttsn-gwctl subscriptions"
"$gwctl" -s "$work/status.sock" subscriptions
echo
echo "== mqttsn-gwctl store (SQLite: kept sessions, messages not yet acknowledged by the broker)"
"$gwctl" -s "$work/status.sock" store
echo
echo "== one node as the broker sees it: mosquitto_sub -t 'mqttsn-gw/+/nodes/xbee-node1' -C 1"
mosquitto_sub -h 127.0.0.1 -p "$broker_port" -t 'mqttsn-gw/+/nodes/xbee-node1' -C 1 -W 5 || true
echo
remaining=$((seconds - 10))
if [ "$remaining" -gt 0 ]; then
  echo "== running for ${remaining}s more (Ctrl-C stops)"
  sleep "$remaining"
fi
echo
echo "== stopping the gateway (SIGTERM): it publishes its offline presence and exits"
kill -TERM "$gw_pid" 2>/dev/null || true
wait "$gw_pid" 2>/dev/null || true
sleep 0.5
echo "== demo finished"
