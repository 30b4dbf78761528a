# shellcheck shell=bash
# Sourced by the measuring scripts (bench.sh, field-bench.sh, downlink-cost.sh, burst-memory.sh): a
# run's scratch directory and programs, the gateway configuration the benchmarks run with, and (from
# mosquitto-lib.sh) free_port and start_mosquitto. Reads BENCH_STORE (1: SQLite store on, the
# default), BENCH_QOS2_EXACTLY_ONCE (0: [store] qos2_exactly_once = false), BENCH_STORE_EXTRA (more
# [store] lines, verbatim), BENCH_LIMITS_EXTRA (more [gateway.limits] lines), BENCH_UPSTREAM_EXTRA
# (more [upstream] lines), BENCH_EXTRA (whole
# sections appended, e.g. "[operations]" lines) and BENCH_RCVBUF (the measured link's receive_buffer).

# shellcheck source=scripts/mosquitto-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/mosquitto-lib.sh"

# ---- a run's scratch directory and processes ---------------------------------------------------------
# bench_workdir sets $dir (a new temporary directory) and $pids (processes to stop), and on exit stops
# every process in $pids and removes $dir.
bench_workdir() {
  dir=$(mktemp -d)
  pids=()
  trap bench_cleanup EXIT
}
bench_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}

# The programs a measurement runs: from $BUILD_DIR (default build), each overridable (GW, SIM, CTL,
# BENCH) to measure another binary side by side.
bench_binaries() {
  build=${BUILD_DIR:-build}
  gw_bin=${GW:-$build/gateway/app/mqttsn-gw}
  sim_bin=${SIM:-$build/tools/sim/mqttsn-sim}
  ctl_bin=${CTL:-$build/tools/gwctl/mqttsn-gwctl}
  bench_bin=${BENCH:-$build/tools/bench/mqttsn-bench}
}

# ---- the gateway's configuration: the one place to change when the daemon's format changes ----------
# $1 file, $2 UDP port of the measured link, $3 UDP port of a second (idle) link, $4 broker port, $5 dir,
# $6 (optional) the pty path of an XBee link (mqttsn-bench --xbee-pty creates it; the gateway retries
# opening it until it exists)
write_gateway_config() {
  local store=false exactly_once=true
  [ "${BENCH_STORE:-1}" = 1 ] && store=true
  [ "${BENCH_QOS2_EXACTLY_ONCE:-1}" = 0 ] && exactly_once=false
  local xbee_link=""
  if [ -n "${6:-}" ]; then
    xbee_link="
[[link]]
kind = \"xbee\"
name = \"xbee\"
device = \"$6\"
baud = 921600
api_mode = 2
mtu = 84
"
  fi
  cat > "$1" <<TOML
[gateway]
id = 1
advertise_interval = "0s"
predefined_topics_file = ""

[gateway.limits]
max_clients = 20000
topic_ids_per_client = 64
inflight_per_client = 10
max_payload = 4096
${BENCH_LIMITS_EXTRA:-}

[[link]]
kind = "udp"
name = "bench"
bind_address = "127.0.0.1"
port = $2
broadcast_address = ""
receive_buffer = "${BENCH_RCVBUF:-32M}"

[[link]]
kind = "udp"
name = "second"
bind_address = "127.0.0.1"
port = $3
broadcast_address = ""
$xbee_link
[upstream]
servers = ["tcp://127.0.0.1:$4"]
client_id = "mqttsn-gw-bench"
presence_topic = ""
${BENCH_UPSTREAM_EXTRA:-}

[upstream.offline_queue]
max_messages = 100000
max_bytes = 67108864

[access]
allow_anonymous = true
clients_file = ""
acl_file = ""

[status]
socket = "$5/status.sock"

[store]
enabled = $store
qos2_exactly_once = $exactly_once
path = "$5/state.db"
${BENCH_STORE_EXTRA:-}

[logging]
level = "warning"
${BENCH_EXTRA:-}
TOML
}
# -------------------------------------------------------------------------------------------------------
