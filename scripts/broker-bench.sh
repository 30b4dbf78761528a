#!/usr/bin/env bash
# QoS 1 throughput through the gateway on mosquitto and on RabbitMQ (3.10, plugin rabbitmq_mqtt), side
# by side in one run: `mqttsn-bench --scenario qos1-window10` (one client, window 10) through a fresh
# gateway, then the bench's direct Paho publisher straight to the same broker (the limit), so each row
# has its ratio gateway / direct. Both brokers are started once, by this script, on free loopback ports
# and stay up for the whole run; the rounds alternate (mosquitto, rabbitmq, mosquitto, rabbitmq, ...)
# so that the machine's noise falls on both alike. mosquitto runs with the bench's own settings (no
# queue limits) and its default Nagle (MOSQUITTO_NODELAY=1 adds `set_tcp_nodelay true`); RabbitMQ
# runs as the tests run it (tests/support/rabbitmq_broker.cpp: anonymous MQTT, its own directory,
# node name and ports, here also its own port mapper, epmd, on a free port, stopped at the end). The
# gateway's configuration is scripts/bench-lib.sh's, with `[upstream] max_qos = 1` on RabbitMQ (as the
# README says to set it there; no effect on QoS 1 publishes).
#
#   scripts/broker-bench.sh                       # 20,000 messages, 2 rounds of each broker
#   COUNT=5000 ROUNDS=1 scripts/broker-bench.sh
#   BROKERS=mosquitto scripts/broker-bench.sh     # one broker only
#
# Environment: BUILD_DIR (default build; nothing is built), COUNT (messages per run, default 20000),
# ROUNDS (default 2), BROKERS (default "mosquitto rabbitmq"), MOSQUITTO_NODELAY (0), OUT (the summary,
# default $BUILD_DIR/broker-bench.md; the JSON lines beside it, .jsonl, and each run's gateway log,
# -<broker>-<round>.log, and RabbitMQ's, -rabbitmq.log), and scripts/bench-lib.sh's BENCH_* variables.
# Takes about a minute with the defaults on 2 shared cores, 10-20 s of it RabbitMQ's start.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh
bench_binaries
bench_workdir

count=${COUNT:-20000}
rounds=${ROUNDS:-2}
read -r -a brokers <<<"${BROKERS:-mosquitto rabbitmq}"
out=${OUT:-$build/broker-bench.md}
jsonl="${out%.md}.jsonl"
rabbitmq_server=/usr/lib/rabbitmq/bin/rabbitmq-server
for b in "${brokers[@]}"; do
  case "$b" in
    mosquitto) ;;
    rabbitmq)
      # The script itself, not /usr/sbin/rabbitmq-server: that wrapper switches to the user "rabbitmq"
      # when run as root, who could not write our directory.
      [ -x "$rabbitmq_server" ] || { echo "$rabbitmq_server not found: install rabbitmq-server (scripts/install-deps.sh)" >&2; exit 1; } ;;
    *) echo "BROKERS: unknown broker '$b' (mosquitto, rabbitmq)" >&2; exit 2 ;;
  esac
done
for p in "$gw_bin" "$bench_bin"; do
  [ -x "$p" ] || { echo "$p not found: build it first (BUILD_DIR=$build)" >&2; exit 1; }
done
mkdir -p "$(dirname "$out")"
rm -f "$jsonl"

# Ports nobody uses now, and none given twice in this run.
used_ports=" "
new_port() {
  local p
  while :; do
    p=$(free_port)
    case "$used_ports" in *" $p "*) continue ;; esac
    used_ports="$used_ports$p "
    echo "$p"
    return 0
  done
}

# ---- RabbitMQ: one node, its process group and its port mapper stopped at exit -------------------------
rabbit_pid=""
rabbit_dir="$dir/rabbitmq"
epmd_port=""
# shellcheck disable=SC2317  # run by the EXIT trap
stop_rabbitmq() {
  if [ -n "$rabbit_pid" ]; then
    # The node (the server script, the Erlang VM it runs, erl_child_setup, inet_gethost) leads its own
    # session and process group: they go together. Nothing of it is worth a clean stop.
    # (The script runs the VM as its child: once killed, the VM is a zombie of init's until reaped.)
    kill -KILL -- "-$rabbit_pid" 2>/dev/null || true
    wait "$rabbit_pid" 2>/dev/null || true
    for _ in $(seq 100); do
      ps -e -o pgid=,stat= | awk -v g="$rabbit_pid" '$1 == g && $2 !~ /^Z/ { found = 1 } END { exit !found }' || break
      sleep 0.1
    done
    rabbit_pid=""
  fi
  if [ -n "$epmd_port" ]; then
    # epmd daemonizes out of the node's group: stop the one on our port (started with relaxed command
    # checking, so a node it still lists does not refuse the kill), and by its pid if it stays.
    local left=""
    for _ in $(seq 50); do
      ERL_EPMD_PORT=$epmd_port epmd -kill >/dev/null 2>&1 || true
      left=$(ss -Hltnp "sport = :$epmd_port" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u || true)
      [ -z "$left" ] && break
      sleep 0.1
    done
    for p in $left; do kill "$p" 2>/dev/null || true; done
    epmd_port=""
  fi
}
# shellcheck disable=SC2317  # the EXIT trap
cleanup() {
  set +e  # every step, whatever one of them returns
  stop_rabbitmq
  bench_cleanup
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_rabbitmq() {
  rabbit_mqtt_port=$(new_port)
  local amqp_port dist_port node
  amqp_port=$(new_port)
  dist_port=$(new_port)
  epmd_port=$(new_port)
  # A long node name on the loopback address: Erlang's distribution resolves no host name.
  node="mqttsn-broker-bench-$$@127.0.0.1"
  mkdir -p "$rabbit_dir/mnesia" "$rabbit_dir/log" "$rabbit_dir/home"
  printf '[rabbitmq_mqtt].\n' >"$rabbit_dir/enabled_plugins"
  cat >"$rabbit_dir/rabbitmq.conf" <<CONF
listeners.tcp.default = 127.0.0.1:$amqp_port
mqtt.listeners.tcp.default = 127.0.0.1:$rabbit_mqtt_port
default_user = guest
default_pass = guest
loopback_users = none
mqtt.allow_anonymous = true
mqtt.default_user = guest
mqtt.default_pass = guest
log.console = true
log.console.level = info
log.file = false
CONF
  echo "== rabbitmq: node $node, MQTT 127.0.0.1:$rabbit_mqtt_port, epmd port $epmd_port, in $rabbit_dir"
  # setsid: a background job of this (non-interactive) shell leads no process group, so setsid makes
  # the script the leader of a new session and group without forking: $! is that group's id.
  HOME="$rabbit_dir/home" \
  RABBITMQ_USE_LONGNAME=true \
  RABBITMQ_NODENAME="$node" \
  RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
  RABBITMQ_NODE_PORT="$amqp_port" \
  RABBITMQ_DIST_PORT="$dist_port" \
  RABBITMQ_MNESIA_BASE="$rabbit_dir/mnesia" \
  RABBITMQ_LOG_BASE="$rabbit_dir/log" \
  RABBITMQ_CONFIG_FILE="$rabbit_dir/rabbitmq.conf" \
  RABBITMQ_ENABLED_PLUGINS_FILE="$rabbit_dir/enabled_plugins" \
  RABBITMQ_LOGS=- \
  RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
  ERL_EPMD_PORT="$epmd_port" \
  ERL_EPMD_ADDRESS=127.0.0.1 \
  ERL_EPMD_RELAXED_COMMAND_CHECK=1 \
    setsid "$rabbitmq_server" >"$rabbit_dir/rabbitmq.log" 2>&1 </dev/null &
  rabbit_pid=$!
  local start=$SECONDS
  while [ $((SECONDS - start)) -lt 90 ]; do
    if ! kill -0 "$rabbit_pid" 2>/dev/null; then break; fi
    if grep -q "Server startup complete" "$rabbit_dir/rabbitmq.log" &&
       [ -n "$(ss -Htln "sport = :$rabbit_mqtt_port" 2>/dev/null)" ]; then
      echo "== rabbitmq: up after $((SECONDS - start)) s"
      return 0
    fi
    sleep 0.2
  done
  echo "broker-bench: RabbitMQ did not start within 90 s; its log:" >&2
  cat "$rabbit_dir/rabbitmq.log" >&2
  return 1
}

# ---- the brokers ---------------------------------------------------------------------------------------
declare -A broker_port
for b in "${brokers[@]}"; do
  case "$b" in
    mosquitto)
      mdir="$dir/mosquitto"
      mkdir -p "$mdir"
      mlines=("max_queued_messages 0" "max_inflight_messages 0")
      [ "${MOSQUITTO_NODELAY:-0}" = 1 ] && mlines+=("set_tcp_nodelay true")
      start_mosquitto "$mdir" "${mlines[@]}"
      pids+=("$MOSQUITTO_PID")
      used_ports="$used_ports$MOSQUITTO_PORT "
      broker_port[mosquitto]=$MOSQUITTO_PORT
      echo "== mosquitto: 127.0.0.1:$MOSQUITTO_PORT"
      ;;
    rabbitmq)
      start_rabbitmq
      broker_port[rabbitmq]=$rabbit_mqtt_port
      ;;
  esac
done

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || commit="$commit-dirty"
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
t0=$SECONDS

# ---- the rounds ------------------------------------------------------------------------------------------
status=0
run_one() {  # $1 broker, $2 round
  local broker=$1 round=$2 label="$1-$2" upstream_extra=${BENCH_UPSTREAM_EXTRA:-}
  local udp_port second_port
  udp_port=$(new_port)
  second_port=$(new_port)
  mkdir -p "$dir/$label"
  [ "$broker" = rabbitmq ] && upstream_extra="$upstream_extra
max_qos = 1"
  BENCH_UPSTREAM_EXTRA=$upstream_extra \
    write_gateway_config "$dir/$label/gateway.toml" "$udp_port" "$second_port" "${broker_port[$broker]}" "$dir/$label"
  echo "== $label"
  "$bench_bin" --scenario qos1-window10 --count "$count" --label "$label" --commit "$commit" \
    --broker "127.0.0.1:${broker_port[$broker]}" --gateway "127.0.0.1:$udp_port" \
    --gateway-cmd "$(realpath "$gw_bin")" --gateway-config "$dir/$label/gateway.toml" \
    --gateway-log "$dir/$label/gateway.log" --json-out "$jsonl" || status=1
  cp "$dir/$label/gateway.log" "${out%.md}-$label.log" 2>/dev/null || true
}
for round in $(seq "$rounds"); do
  for b in "${brokers[@]}"; do run_one "$b" "$round"; done
done
elapsed=$((SECONDS - t0))
[ -n "$rabbit_pid" ] && cp "$rabbit_dir/rabbitmq.log" "${out%.md}-rabbitmq.log"

# ---- the summary -----------------------------------------------------------------------------------------
mosquitto_version=$(mosquitto -h 2>/dev/null | sed -n '1s/^mosquitto version //p' || true)
rabbitmq_version=$(dpkg-query -W -f '${Version}' rabbitmq-server 2>/dev/null || echo "?")
nodelay=false
[ "${MOSQUITTO_NODELAY:-0}" = 1 ] && nodelay=true
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')
header="- date: $started, commit $commit, $(nproc) CPUs ($cpu), load average before $load_before
- command: \`BUILD_DIR=$build COUNT=$count ROUNDS=$rounds BROKERS=\"${brokers[*]}\" scripts/broker-bench.sh\` (the rounds took $elapsed s)
- load: \`mqttsn-bench --scenario qos1-window10 --count $count\` (QoS 1, one client, window 10, 32 octets, flat out) through a fresh gateway per row (store on); direct: one Paho publisher straight to the same broker (TCP_NODELAY), 10 in flight
- brokers, both up for the whole run, rounds alternating: mosquitto $mosquitto_version (no queue limits, set_tcp_nodelay $nodelay); RabbitMQ $rabbitmq_version with rabbitmq_mqtt (the gateway with \`[upstream] max_qos = 1\`)"
python3 - "$jsonl" "$out" "$header" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def get(r, *path):
    for p in path:
        if not isinstance(r, dict) or p not in r: return None
        r = r[p]
    return r
def num(v, fmt="{:,.0f}"):
    return fmt.format(v) if isinstance(v, (int, float)) else "-"
def ms(v):
    return num(v / 1000, "{:.2f}") if isinstance(v, (int, float)) else "-"
lines = ["# QoS 1 throughput through the gateway: mosquitto and RabbitMQ, one run", "", sys.argv[3], "",
         "| broker | round | msg/s through gateway | direct msg/s | gateway / direct | gateway CPU us/msg | PUBACK ms p50 / p99 | delivered (lost acked, dup) | notes |",
         "|---|---|---|---|---|---|---|---|---|"]
rates = {}  # broker -> {"gateway": [...], "direct": [...]}
for r in rows:
    broker, _, rnd = (get(r, "variant") or "?").rpartition("-")
    g, d = get(r, "gateway") or {}, get(r, "direct") or {}
    errors = [str(p["error"]) for p in (g, d) if "error" in p]
    lat = get(g, "ack_latency_us") or {}
    lines.append("| %s | %s | %s | %s | %s | %s | %s / %s | %s/%s (%s, %s) | %s |" % (
        broker, rnd, num(get(g, "rate")), num(get(d, "rate")), num(get(r, "ratio", "rate"), "{:.2f}"),
        num(get(g, "cpu_us_per_msg"), "{:.1f}"), ms(lat.get("p50")), ms(lat.get("p99")),
        num(get(g, "delivered")), num(get(g, "published")), num(get(g, "lost_acked")),
        num(get(g, "duplicates")), "; ".join(errors)))
    b = rates.setdefault(broker, {"gateway": [], "direct": []})
    for phase, p in (("gateway", g), ("direct", d)):
        if "error" not in p and isinstance(p.get("rate"), (int, float)): b[phase].append(p["rate"])
def span(v):
    if not v: return "-"
    lo, hi = num(min(v)), num(max(v))
    return lo if lo == hi else lo + "-" + hi
if rates:
    lines += ["", "In short: " + "; ".join("%s %s msg/s through the gateway (direct %s)" % (
        b, span(v["gateway"]), span(v["direct"])) for b, v in rates.items()) + "."]
open(sys.argv[2], "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
echo "== summary: $out   JSON lines: $jsonl   logs: ${out%.md}-*.log"
exit "$status"
