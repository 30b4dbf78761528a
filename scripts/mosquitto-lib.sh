# shellcheck shell=bash
# Sourced by the scripts that run a private mosquitto (bench.sh, field-bench.sh through bench-lib.sh,
# run-demo.sh, pi-figures.sh, store-syncs.sh): a free loopback port, and a broker on one. A private
# broker on a port nobody else uses, so a run never meets another run's messages or a system broker.

# A port nobody uses (TCP or UDP, listening or connected) on this machine right now.
free_port() {
  local p
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % 40000))
    if [ -z "$(ss -Htanu "( sport = :$p )" 2>/dev/null)" ]; then echo "$p"; return 0; fi
  done
  echo "free_port: no free port found" >&2
  return 1
}

# start_mosquitto DIR [CONFIG_LINE...]: mosquitto on 127.0.0.1 and a free port, anonymous, without
# persistence, plus the given configuration lines; DIR/mosquitto.conf and DIR/mosquitto.log. Returns
# once it listens, with MOSQUITTO_PORT and MOSQUITTO_PID set (it runs as a child of the calling shell,
# which stops it); fails with its log if it does not start within 5 s.
start_mosquitto() {
  local dir=$1
  shift
  MOSQUITTO_PORT=$(free_port) || return 1
  {
    echo "listener $MOSQUITTO_PORT 127.0.0.1"
    echo "allow_anonymous true"
    echo "persistence false"
    local line
    for line in "$@"; do echo "$line"; done
  } >"$dir/mosquitto.conf"
  mosquitto -c "$dir/mosquitto.conf" >"$dir/mosquitto.log" 2>&1 &
  MOSQUITTO_PID=$!
  for _ in $(seq 100); do
    [ -n "$(ss -Htln "sport = :$MOSQUITTO_PORT" 2>/dev/null)" ] && return 0
    kill -0 "$MOSQUITTO_PID" 2>/dev/null || break
    sleep 0.05
  done
  echo "start_mosquitto: mosquitto did not start on port $MOSQUITTO_PORT; its log:" >&2
  cat "$dir/mosquitto.log" >&2
  kill "$MOSQUITTO_PID" 2>/dev/null || true
  return 1
}
