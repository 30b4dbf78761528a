#!/usr/bin/env bash
# The idle gateway's memory: RSS, PSS and private (its own) memory from /proc/PID/smaps_rollup, with
# the upstream over plain TCP and over TLS, and the RSS with CLIENTS idle UDP nodes connected. Each
# gateway runs with the benchmarks' configuration (two UDP links, store on; bench-lib.sh) against a
# private mosquitto with a plain and a TLS listener (a throwaway CA made with openssl), and is read
# IDLE_SECONDS after its upstream connection is up.
#
#   scripts/footprint.sh                                 # build/gateway/app/mqttsn-gw
#   scripts/footprint.sh before=/tmp/gw-old after=build/gateway/app/mqttsn-gw   # side by side
#   CLIENTS=0 scripts/footprint.sh                       # skip the idle-clients run
#   BREAKDOWN=1 scripts/footprint.sh                     # also the largest mappings of each run
# Environment: IDLE_SECONDS (5), CLIENTS (10000), BUILD_DIR (build), SIM and CTL (mqttsn-sim and
# mqttsn-gwctl, from BUILD_DIR).
#
# Figures are kB. RSS counts every resident page the process maps, shared libraries in full; PSS
# divides each shared page by the processes mapping it; private is the pages only this process maps
# (Private_Clean + Private_Dirty); anon is the anonymous part (heap, stacks, Paho's and OpenSSL's
# allocations), the gateway's own memory in the strict sense. PSS and private depend on what else
# runs (a second process using libsqlite3 halves its share); RSS and anon do not.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench-lib.sh
source "$here/bench-lib.sh"
bench_binaries
idle=${IDLE_SECONDS:-5}
clients=${CLIENTS:-10000}

gateways=("$@")
[ ${#gateways[@]} -gt 0 ] || gateways=("$build/gateway/app/mqttsn-gw")

bench_workdir

# A CA and a server certificate for 127.0.0.1, for the broker's TLS listener.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=footprint-ca \
  -keyout "$dir/ca.key" -out "$dir/ca.crt" >"$dir/openssl.log" 2>&1
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=localhost \
  -keyout "$dir/server.key" -out "$dir/server.csr" >>"$dir/openssl.log" 2>&1
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$dir/san.ext"
openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial -days 2 \
  -extfile "$dir/san.ext" -out "$dir/server.crt" >>"$dir/openssl.log" 2>&1

tls_port=$(free_port)
# mosquitto started as root switches to user "mosquitto", which cannot read the 0700 temp dir.
start_mosquitto "$dir" "user $(id -un)" "listener $tls_port 127.0.0.1" "cafile $dir/ca.crt" "certfile $dir/server.crt" \
  "keyfile $dir/server.key"
pids+=("$MOSQUITTO_PID")

# run_gateway BINARY NAME tcp|tls: starts it, waits until its upstream is connected; sets GW_PID, GW_DIR
# and GW_UDP_PORT.
run_gateway() {
  local bin=$1 name=$2 mode=$3
  GW_DIR="$dir/$name-$mode"
  mkdir -p "$GW_DIR"
  GW_UDP_PORT=$(free_port)
  write_gateway_config "$GW_DIR/gateway.toml" "$GW_UDP_PORT" "$(free_port)" "$MOSQUITTO_PORT" "$GW_DIR"
  # The daemon's default queue bounds and receive buffer, not the benchmarks'; info logging (the log
  # names the Paho library); a client id of its own per run.
  sed -i 's/^max_messages = .*/max_messages = 10000/; s/^max_bytes = .*/max_bytes = 8388608/;
          s/^level = .*/level = "info"/; s/^receive_buffer = .*/receive_buffer = "2M"/' "$GW_DIR/gateway.toml"
  sed -i "s/^client_id = .*/client_id = \"footprint-$name-$mode\"/" "$GW_DIR/gateway.toml"
  if [ "$mode" = tls ]; then
    sed -i "s|^servers = .*|servers = [\"ssl://127.0.0.1:$tls_port\"]|" "$GW_DIR/gateway.toml"
    printf '\n[upstream.tls]\nca_file = "%s"\n' "$dir/ca.crt" >>"$GW_DIR/gateway.toml"
  fi
  "$bin" --config "$GW_DIR/gateway.toml" >"$GW_DIR/gw.log" 2>&1 &
  GW_PID=$!
  pids+=("$GW_PID")
  for _ in $(seq 100); do
    grep -q 'upstream: connected to' "$GW_DIR/gw.log" && return 0
    kill -0 "$GW_PID" 2>/dev/null || break
    sleep 0.1
  done
  cat "$GW_DIR/gw.log" >&2
  echo "footprint: $name ($mode) did not connect to the broker within 10 s" >&2
  return 1
}

stop_gateway() {
  kill "$GW_PID" 2>/dev/null || true
  wait "$GW_PID" 2>/dev/null || true
}

# "rss pss private anonymous" in kB.
memory() {
  awk '/^Rss:/ {r = $2} /^Pss:/ {p = $2} /^Private_(Clean|Dirty):/ {v += $2} /^Anonymous:/ {a = $2}
       END {print r, p, v, a}' "/proc/$1/smaps_rollup"
}

# The largest mappings by RSS, grouped by file (anonymous ones as [anon]), with PSS and private.
breakdown() {
  awk '/^[0-9a-f]+-[0-9a-f]+ / {name = (NF >= 6 ? $6 : "[anon]"); sub(/.*\//, "", name); next}
       /^Rss:/ {rss[name] += $2} /^Pss:/ {pss[name] += $2} /^Private_(Clean|Dirty):/ {priv[name] += $2}
       END {for (n in rss) if (rss[n] > 0) printf "    %-36s %8d %8d %8d\n", n, rss[n], pss[n], priv[n]}' \
    "/proc/$1/smaps" | sort -k2,2nr | head -"${BREAKDOWN_LINES:-14}"
}

printf '%-12s %-5s %9s %9s %9s %9s\n' gateway mode RSS PSS private anon
for spec in "${gateways[@]}"; do
  name=${spec%%=*}
  bin=${spec#*=}
  [ "$name" != "$spec" ] || name=$(basename "$(dirname "$(dirname "$(dirname "$bin")")")")
  for mode in tcp tls; do
    run_gateway "$bin" "$name" "$mode"
    sleep "$idle"
    read -r rss pss priv anon < <(memory "$GW_PID")
    printf '%-12s %-5s %9s %9s %9s %9s\n' "$name" "$mode" "$rss" "$pss" "$priv" "$anon"
    if [ "${BREAKDOWN:-0}" = 1 ]; then
      printf '    %-36s %8s %8s %8s\n' mapping RSS PSS private
      breakdown "$GW_PID"
    fi
    stop_gateway
  done
done

[ "$clients" -gt 0 ] || exit 0
echo
printf '%-12s %-5s %9s %9s %9s %9s  (%s idle UDP clients, keep-alive 300 s)\n' gateway mode RSS PSS private anon "$clients"
for spec in "${gateways[@]}"; do
  name=${spec%%=*}
  bin=${spec#*=}
  [ "$name" != "$spec" ] || name=$(basename "$(dirname "$(dirname "$(dirname "$bin")")")")
  run_gateway "$bin" "$name" tcp
  "$sim_bin" --udp "127.0.0.1:$GW_UDP_PORT" -n "$clients" --keep-alive 300 --period 1h -q 0 \
    --topic "footprint/%n" >"$GW_DIR/sim.log" 2>&1 &
  sim=$!
  pids+=("$sim")
  sessions=0
  for _ in $(seq 600); do
    sessions=$("$ctl_bin" --json --socket "$GW_DIR/status.sock" stats 2>/dev/null |
      sed -n 's/.*"sessions":\([0-9]*\).*/\1/p')
    [ "${sessions:-0}" -ge "$clients" ] && break
    sleep 0.2
  done
  if [ "${sessions:-0}" -lt "$clients" ]; then
    tail -5 "$GW_DIR/sim.log" >&2
    echo "footprint: only ${sessions:-0} of $clients clients connected to $name" >&2
  fi
  sleep "$idle"
  read -r rss pss priv anon < <(memory "$GW_PID")
  printf '%-12s %-5s %9s %9s %9s %9s  (%s sessions)\n' "$name" tcp "$rss" "$pss" "$priv" "$anon" "${sessions:-0}"
  kill "$sim" 2>/dev/null || true
  wait "$sim" 2>/dev/null || true
  stop_gateway
done
