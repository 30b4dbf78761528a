#!/bin/bash
# RSS of mqttsn-gw with N simulated UDP nodes (mqttsn-sim), [upstream] mode = "shared" against
# "per_node", with a throwaway anonymous mosquitto; counts the gateway's connections to the broker.
# usage: scripts/per-node-footprint.sh BUILD_DIR N      (N above ~1000: raise `ulimit -n` first)
# MODES="per_node" SETTLE=30 DUR=35s pick the modes, the wait before RSS is read and the sim's run.
set -u
B=$1; N=$2
D=$(mktemp -d /tmp/pn-measure.XXXX)
MQ=$((20000 + RANDOM % 5000)); UDP=$((25000 + RANDOM % 5000))
printf 'listener %d 127.0.0.1\nallow_anonymous true\nmax_connections -1\n' $MQ > $D/mosq.conf
/usr/sbin/mosquitto -c $D/mosq.conf > $D/mosq.log 2>&1 & MP=$!
sleep 0.5
echo '%c' > $D/node-credentials
for mode in ${MODES:-shared per_node}; do
  cat > $D/gw-$mode.toml <<T
[gateway]
id = 9
advertise_interval = "0s"
[gateway.limits]
max_clients = 1000
[[link]]
kind = "udp"
name = "udp"
bind_address = "127.0.0.1"
port = $UDP
broadcast_address = ""
[upstream]
servers = ["tcp://127.0.0.1:$MQ"]
client_id = "measure-gw"
presence_topic = ""
mode = "$mode"
credentials_file = "node-credentials"
[status]
socket = "$D/status.sock"
[store]
enabled = false
[operations]
base_topic = ""
[logging]
level = "warning"
T
  $B/gateway/app/mqttsn-gw -c $D/gw-$mode.toml > $D/gw-$mode.log 2>&1 & GP=$!
  sleep 1
  idle=$(awk '/VmRSS/{print $2}' /proc/$GP/status)
  $B/tools/sim/mqttsn-sim --udp 127.0.0.1:$UDP -n $N --period 5s -d ${DUR:-20s} --keep-alive 60 > $D/sim-$mode.log 2>&1 & SP=$!
  sleep ${SETTLE:-15}
  rss=$(awk '/VmRSS/{print $2}' /proc/$GP/status)
  conns=$(ss -tn state established "( dport = :$MQ )" | tail -n +2 | wc -l)
  echo "$mode: N=$N idle_rss_kB=$idle rss_kB_with_nodes=$rss broker_conns_from_host=$conns"
  wait $SP
  kill $GP; wait $GP 2>/dev/null
done
kill $MP; wait $MP 2>/dev/null
rm -rf $D
