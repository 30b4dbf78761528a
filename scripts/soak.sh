#!/usr/bin/env bash
# A compressed day of field life for the gateway: simulated UDP nodes churning (publishing QoS 1 all
# the time, sleeping and waking, kept sessions receiving downlink, connecting for a few readings then
# disconnecting, going silent with SIGKILL), the broker restarted every sixth of the run, the gateway
# sent SIGHUP every thirtieth (for 30 minutes: every 5 minutes and every minute), its RSS sampled
# every second. Reports the RSS slope after the warm-up (the first 20 %) by least squares, and checks
# that every reading a node got a PUBACK for reached a broker-side subscriber (duplicates, allowed at
# QoS 1, are counted).
#
#   scripts/soak.sh                                   # 30 min, 1,000 nodes
#   scripts/soak.sh --minutes 2 --nodes 200 --build-dir build-asan     # the CI version
#   scripts/soak.sh --max-slope-kb-h 100 --out FILE.md                 # also fail on a steeper slope
#
# Options: --minutes N (30), --nodes N (1000, at least 20), --build-dir DIR (build-lead if it has the
# gateway, else build), --out FILE (markdown summary, default DIR/soak.md; the RSS samples go to
# FILE without .md + -rss.csv), --max-slope-kb-h X (fail above X KB/hour; off by default: an ASan
# build's quarantine grows by design), --restart-every S and --hup-every S (seconds between broker
# restarts and SIGHUPs, instead of a sixth and a thirtieth of the run).
# Environment: SOAK_DIR (where the run's stores and logs live, default /tmp; kept on failure),
# SOAK_BROKER_LOG (e.g. "all": mosquitto's log_type, to see every PUBLISH it received and sent when
# a loss needs tracing to the gateway's or the broker's side).
#
# Exits non-zero when an acknowledged reading never reached the subscriber, the gateway died or did
# not exit cleanly, its log shows a sanitizer report, or the slope is over --max-slope-kb-h.
set -euo pipefail
cd "$(dirname "$0")/.."
export LC_ALL=C  # sort and comm must agree on the order

minutes=30
nodes=1000
build_dir=""
out=""
max_slope=""
restart_every=""
hup_every=""
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) minutes=$2; shift ;;
    --nodes) nodes=$2; shift ;;
    --build-dir) build_dir=$2; shift ;;
    --out) out=$2; shift ;;
    --max-slope-kb-h) max_slope=$2; shift ;;
    --restart-every) restart_every=$2; shift ;;
    --hup-every) hup_every=$2; shift ;;
    -h|--help) sed -n '2,/^set /{/^#/p}' "$0"; exit 0 ;;
    *) echo "soak.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done
if [ -z "$build_dir" ]; then
  build_dir=build
  [ -x build-lead/gateway/app/mqttsn-gw ] && build_dir=build-lead
fi
gw_bin=$build_dir/gateway/app/mqttsn-gw
sim_bin=$build_dir/tools/sim/mqttsn-sim
ctl_bin=$build_dir/tools/gwctl/mqttsn-gwctl
for b in "$gw_bin" "$sim_bin"; do
  [ -x "$b" ] || { echo "soak.sh: $b not built (cmake --build $build_dir --target mqttsn-gw mqttsn-sim)" >&2; exit 2; }
done
[ "$nodes" -ge 20 ] || { echo "soak.sh: --nodes must be at least 20" >&2; exit 2; }
[ -n "$out" ] || out=$build_dir/soak.md
csv=${out%.md}-rss.csv
mkdir -p "$(dirname "$out")"

# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh

# ---- the schedule, scaled to the run's length ------------------------------------------------------
total=$((minutes * 60))
[ -n "$restart_every" ] || restart_every=$((total / 6))  # broker restarts
[ -n "$hup_every" ] || hup_every=$((total / 30))         # SIGHUPs
[ "$hup_every" -ge 1 ] || hup_every=1
warmup=$((total / 5))
outage=2             # seconds the broker stays down at each restart
silent_keepalive=10  # the silent nodes' keep-alive: the gateway declares them lost after 1.5 x this
# The groups: 40 % steady, 20 % sleepers, 15 % kept sessions, 15 % short-lived, the rest silent.
n_steady=$((nodes * 40 / 100))
n_sleep=$((nodes * 20 / 100))
n_kept=$((nodes * 15 / 100))
n_cycle=$((nodes * 15 / 100 / 3 * 3))  # three loops of equal size
n_silent=$((nodes - n_steady - n_sleep - n_kept - n_cycle))

# The tree the run starts from (it may be committed to while the run goes on).
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || commit="$commit-dirty"
dir=$(mktemp -d "${SOAK_DIR:-/tmp}/mqttsn-soak.XXXXXX")
pids=()
status=0
cleanup() {
  local rc=$?
  touch "$dir/stop" 2>/dev/null || true
  # The loops' subshells first lose their node processes (their children), then themselves.
  for p in "${pids[@]}"; do pkill -P "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; done
  if [ -n "${MOSQUITTO_PID:-}" ]; then kill "$MOSQUITTO_PID" 2>/dev/null || true; fi
  wait 2>/dev/null || true
  if [ "$rc" = 0 ]; then rm -rf "$dir"; else echo "soak.sh: logs kept in $dir" >&2; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
stopping() { [ -e "$dir/stop" ]; }
# sleep_unless_stopping SECONDS: sleeps in short steps; false once the run is stopping.
sleep_unless_stopping() {
  local until=$((SECONDS + $1))
  while [ "$SECONDS" -lt "$until" ]; do
    stopping && return 1
    sleep 0.5
  done
  ! stopping
}

echo "== soak: $minutes min, $nodes nodes ($n_steady steady, $n_sleep sleeping, $n_kept kept sessions," \
  "$n_cycle short-lived, $n_silent going silent), gateway $gw_bin, run directory $dir"

# ---- the broker: persistence on (in the run directory), so the checker's queued messages survive
# its restarts; as the invoking user (mosquitto run as root would drop to a user that cannot write
# there); no bound on the checker's queue while it reconnects.
mkdir -p "$dir/broker"
start_mosquitto "$dir/broker" "persistence true" "persistence_location $dir/broker/" "user $(id -un)" \
  "max_queued_messages 0" "max_inflight_messages 100" ${SOAK_BROKER_LOG:+"log_type $SOAK_BROKER_LOG"}
# start_mosquitto wrote persistence false first: the later line wins, but say it once.
sed -i '/^persistence false$/d' "$dir/broker/mosquitto.conf"
kill "$MOSQUITTO_PID"
wait "$MOSQUITTO_PID" 2>/dev/null || true
broker_port=$MOSQUITTO_PORT
broker_up() {
  mosquitto -c "$dir/broker/mosquitto.conf" >>"$dir/broker/mosquitto.log" 2>&1 &
  MOSQUITTO_PID=$!
  for _ in $(seq 100); do
    [ -n "$(ss -Htln "sport = :$broker_port" 2>/dev/null)" ] && return 0
    sleep 0.05
  done
  echo "soak.sh: mosquitto did not start again on port $broker_port" >&2
  return 1
}
broker_up

# The checker: a persistent session (-c) at QoS 1 that mosquitto_sub keeps reconnecting across the
# broker's restarts; one "topic payload" line per message, the format of the nodes' --ack-log.
checker_up() {
  mosquitto_sub -p "$broker_port" -c -i soak-checker -q 1 -v -t 'soak/up/#' >>"$dir/received.log" \
    2>>"$dir/checker.err" &
  checker_pid=$!
}
checker_up
for _ in $(seq 50); do
  grep -q "soak-checker" "$dir/broker/mosquitto.log" && break
  sleep 0.1
done

# ---- the gateway: the benchmarks' configuration with the store on, the daemon's default queue bounds
udp_port=$(free_port)
write_gateway_config "$dir/gateway.toml" "$udp_port" "$(free_port)" "$broker_port" "$dir"
sed -i 's/^max_messages = .*/max_messages = 10000/; s/^max_bytes = .*/max_bytes = 8388608/' "$dir/gateway.toml"
"$gw_bin" --config "$dir/gateway.toml" >"$dir/gw.log" 2>&1 &
gw=$!
for _ in $(seq 100); do
  [ -S "$dir/status.sock" ] && break
  sleep 0.1
done
kill -0 "$gw" 2>/dev/null || { echo "soak.sh: the gateway did not start:" >&2; cat "$dir/gw.log" >&2; exit 1; }

# RSS every second: seconds since start, VmRSS and RssAnon in kB.
start_ns=$(date +%s%N)
echo "t_s,rss_kb,rss_anon_kb" >"$csv"
(
  while ! stopping && kill -0 "$gw" 2>/dev/null; do
    now_ns=$(date +%s%N)
    awk -v t=$(((now_ns - start_ns) / 1000000)) '/^VmRSS/ {r = $2} /^RssAnon/ {a = $2}
      END {if (r != "") printf "%.3f,%d,%d\n", t / 1000, r, a}' "/proc/$gw/status" >>"$csv" 2>/dev/null || true
    sleep 1
  done
) &
pids+=($!)

# ---- the nodes ---------------------------------------------------------------------------------------
# (An array, not a function: `function &` would put a subshell between $! and the node process.)
sim=("$sim_bin" --udp "127.0.0.1:$udp_port" --tagged --ack-log "$dir/acks.log" --t-retry 5s)
# Steady: QoS 1 every 5 s, connected all the time.
"${sim[@]}" -n "$n_steady" --client-id "st%n" -t "soak/up/st/%n" --period 5s --keep-alive 30 >"$dir/steady.log" 2>&1 &
long_sims=($!)
# Sleepers: a reading every 30 s, asleep in between (waking every 10 s to collect their commands).
"${sim[@]}" -n "$n_sleep" --client-id "sl%n" -t "soak/up/sl/%n" --period 30s --sleep 40s --awake-every 10s \
  --persistent --subscribe "soak/cmd/sl%n" >"$dir/sleepers.log" 2>&1 &
long_sims+=($!)
# Kept sessions (CleanSession=0) that receive commands, and publish every 10 s.
"${sim[@]}" -n "$n_kept" --client-id "ks%n" -t "soak/up/ks/%n" --period 10s --keep-alive 30 --persistent \
  --subscribe "soak/cmd/ks%n" >"$dir/kept.log" 2>&1 &
long_sims+=($!)
pids+=("${long_sims[@]}")

# Short-lived: connect, 3 readings 1 s apart, disconnect; again after up to 3 s; three loops.
for j in 1 2 3; do
  (
    while ! stopping; do
      "${sim[@]}" -n $((n_cycle / 3)) --client-id "cy${j}n%n" -t "soak/up/cy/${j}n%n" --period 1s --count 3 \
        --keep-alive 30 >>"$dir/cycle$j.log" 2>&1 || true
      echo >>"$dir/cycles"
      sleep "0.$((RANDOM % 10))$((RANDOM % 10))"
      sleep $((RANDOM % 3))
    done
  ) &
  pids+=($!)
done

# Silent: two halves, each publishing every 5 s for a while (a tenth to a fifth of the run, at least
# 15 s), then killed with SIGKILL; they come back (same client ids) after the gateway has had time to
# declare them lost.
silent_min=$((total / 10 > 15 ? total / 10 : 15))
for j in 1 2; do
  (
    while ! stopping; do
      "${sim[@]}" -n $((j == 1 ? n_silent / 2 : n_silent - n_silent / 2)) --client-id "si${j}n%n" \
        -t "soak/up/si/${j}n%n" --period 5s --keep-alive "$silent_keepalive" >>"$dir/silent$j.log" 2>&1 &
      s=$!
      sleep_unless_stopping $((silent_min + RANDOM % (silent_min + 1))) || true
      kill -KILL "$s" 2>/dev/null || true
      wait "$s" 2>/dev/null || true
      echo >>"$dir/kills"
      sleep_unless_stopping $((silent_keepalive * 2)) || true
    done
  ) &
  pids+=($!)
done

# Downlink: a command every second to a random kept session or sleeper, QoS 1, from the broker side.
(
  k=0
  while ! stopping; do
    k=$((k + 1))
    if [ $((RANDOM % 2)) = 0 ]; then target="ks$((1 + RANDOM % n_kept))"; else target="sl$((1 + RANDOM % n_sleep))"; fi
    if timeout 5 mosquitto_pub -p "$broker_port" -q 1 -t "soak/cmd/$target" -m "command $k" 2>/dev/null; then
      echo >>"$dir/downlink-sent"
    fi
    sleep 1
  done
) &
pids+=($!)

# ---- the run: broker restarts, SIGHUPs, the gateway watched ---------------------------------------
restarts=0
hups=0
next_restart=$restart_every
next_hup=$hup_every
gw_died=0
run_start=$SECONDS
while [ $((SECONDS - run_start)) -lt "$total" ]; do
  sleep 0.5
  if ! kill -0 "$gw" 2>/dev/null; then
    echo "soak.sh: the gateway died at $((SECONDS - run_start)) s" >&2
    gw_died=1
    break
  fi
  elapsed=$((SECONDS - run_start))
  if [ "$elapsed" -ge "$next_hup" ]; then
    kill -HUP "$gw"
    hups=$((hups + 1))
    next_hup=$((next_hup + hup_every))
  fi
  if [ "$elapsed" -ge "$next_restart" ] && [ "$elapsed" -lt "$total" ]; then
    kill "$MOSQUITTO_PID"
    wait "$MOSQUITTO_PID" 2>/dev/null || true
    sleep "$outage"
    broker_up
    restarts=$((restarts + 1))
    next_restart=$((next_restart + restart_every))
    echo "  $elapsed s: broker restarted ($restarts), SIGHUPs so far $hups, RSS $(tail -1 "$csv" | cut -d, -f2) kB"
  fi
  # mosquitto_sub reconnects by itself; should it have given up, a new one takes its session over.
  kill -0 "$checker_pid" 2>/dev/null || checker_up
done

# ---- the end: the nodes finish (the long-running ones disconnect after their last PUBACK), then the
# gateway is given time to hand the broker what it still holds.
echo "== stopping the nodes"
touch "$dir/stop"
for p in "${long_sims[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
pids=()

acked_keys() { sort -u "$dir/acks.log"; }
received_keys() { sort -u "$dir/received.log"; }
touch "$dir/acks.log" "$dir/received.log"
missing=0
for _ in $(seq 60); do
  missing=$(comm -23 <(acked_keys) <(received_keys) | wc -l)
  [ "$missing" = 0 ] && break
  kill -0 "$gw" 2>/dev/null || break
  sleep 2
done

stat_field() { "$ctl_bin" --json --socket "$dir/status.sock" stats 2>/dev/null | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }
keepalive_timeouts=$(stat_field keepalive_timeouts || true)
sleep_timeouts=$(stat_field sleep_timeouts || true)
takeovers=$(stat_field takeovers || true)
kill "$checker_pid" 2>/dev/null || true
wait "$checker_pid" 2>/dev/null || true

gw_rc=died
if kill -0 "$gw" 2>/dev/null; then
  kill -TERM "$gw"
  gw_rc=0
  wait "$gw" || gw_rc=$?
fi
kill "$MOSQUITTO_PID" 2>/dev/null || true
wait "$MOSQUITTO_PID" 2>/dev/null || true
MOSQUITTO_PID=""

# ---- the figures -------------------------------------------------------------------------------------
acked=$(wc -l <"$dir/acks.log")
acked_unique=$(acked_keys | wc -l)
received=$(wc -l <"$dir/received.log")
received_unique=$(received_keys | wc -l)
lost=$(comm -23 <(acked_keys) <(received_keys) | wc -l)
comm -23 <(acked_keys) <(received_keys) | head -20 >"$dir/lost-sample.txt"
duplicates=$((received - received_unique))
# Received but never acknowledged: readings whose PUBACK the node did not see (retried, or the node
# was killed before it came): not a loss.
unacked_received=$(comm -13 <(acked_keys) <(received_keys) | wc -l)
# Readings the gateway still held in its store when it stopped (acknowledged, not yet taken by the
# broker): where a lost reading is, when it was never sent again while the gateway ran.
held_at_exit=-
if command -v sqlite3 >/dev/null && [ -f "$dir/state.db" ]; then
  held_at_exit=$(sqlite3 "$dir/state.db" "select count(*) from uplink" 2>/dev/null || echo -)
  sqlite3 "$dir/state.db" "select topic || ' ' || cast(payload as text) from uplink limit 20" >"$dir/held-at-exit.txt" 2>/dev/null || true
fi
count_lines() { [ -f "$1" ] && wc -l <"$1" || echo 0; }
cycles=$(count_lines "$dir/cycles")
kills=$(count_lines "$dir/kills")
downlink_sent=$(count_lines "$dir/downlink-sent")
downlink_received=$(cat "$dir"/sleepers.log "$dir"/kept.log | grep -c ' <- soak/cmd/' || true)
sim_failures=$(cat "$dir"/{steady,sleepers,kept,cycle*,silent*}.log 2>/dev/null | grep -c 'FAILED' || true)
sanitizer_pattern='ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:'
sanitizer=$(grep -cE "$sanitizer_pattern" "$dir/gw.log" || true)
# The nodes too, when they are a sanitizer build: a report there is a bug in mqttsn-sim.
sim_sanitizer=$(cat "$dir"/{steady,sleepers,kept,cycle*,silent*}.log 2>/dev/null | grep -cE "$sanitizer_pattern" || true)

# Least squares of RSS (kB) over time (hours) after the warm-up.
read -r slope rss_min rss_max rss_first rss_last samples < <(awk -F, -v w="$warmup" '
  NR > 1 { if (min == "" || $2 < min) min = $2; if ($2 > max) max = $2
           if ($1 >= w) { x = $1 / 3600; n++; sx += x; sy += $2; sxx += x * x; sxy += x * $2
                          if (first == "") first = $2; last = $2 } }
  END { d = n * sxx - sx * sx; s = (n > 1 && d != 0) ? (n * sxy - sx * sy) / d : 0
        printf "%.1f %d %d %d %d %d\n", s, min, max, first, last, n }' "$csv")

fail_reasons=()
[ "$lost" = 0 ] || fail_reasons+=("$lost acknowledged readings lost")
[ "$gw_died" = 0 ] && [ "$gw_rc" != died ] || fail_reasons+=("the gateway died")
[ "$gw_rc" = 0 ] || [ "$gw_rc" = died ] || fail_reasons+=("the gateway exited with $gw_rc")
[ "$sanitizer" = 0 ] || fail_reasons+=("$sanitizer sanitizer reports in the gateway's log")
[ "$sim_sanitizer" = 0 ] || fail_reasons+=("$sim_sanitizer sanitizer reports in the nodes' logs")
[ "$acked" -gt 0 ] || fail_reasons+=("no reading was acknowledged")
if [ -n "$max_slope" ] && awk -v s="$slope" -v m="$max_slope" 'BEGIN { exit !(s > m) }'; then
  fail_reasons+=("RSS slope $slope KB/h over $max_slope")
fi
verdict=PASS
[ ${#fail_reasons[@]} = 0 ] || { verdict="FAIL: $(IFS=';'; echo "${fail_reasons[*]}")"; status=1; }

{
  echo "# Soak: $minutes minutes, $nodes nodes"
  echo
  echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ); commit $commit; gateway \`$gw_bin\`"
  echo "- machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), kernel $(uname -r) (broker, nodes and gateway share it)"
  echo "- command: \`scripts/soak.sh --minutes $minutes --nodes $nodes --build-dir $build_dir --restart-every $restart_every --hup-every $hup_every${max_slope:+ --max-slope-kb-h $max_slope}\`"
  echo "- verdict: **$verdict**"
  echo
  echo "| | |"
  echo "|---|---|"
  echo "| nodes | $n_steady steady (QoS 1 every 5 s), $n_sleep sleepers (every 30 s, awake every 10 s), $n_kept kept sessions (every 10 s, commands), $n_cycle short-lived (3 readings, disconnect), $n_silent going silent |"
  echo "| churn | $cycles short-lived runs, $kills silent groups killed (SIGKILL); gateway: $keepalive_timeouts keep-alive timeouts, $sleep_timeouts sleep timeouts, $takeovers takeovers |"
  echo "| broker restarts | $restarts (every $restart_every s, down $outage s each) |"
  echo "| SIGHUPs | $hups (every $hup_every s) |"
  echo "| RSS | min $rss_min kB, max $rss_max kB; after the warm-up ($warmup s): first $rss_first kB, last $rss_last kB ($samples samples) |"
  echo "| RSS slope after the warm-up | **$slope KB/hour** (least squares) |"
  echo "| QoS 1 readings acknowledged | $acked ($acked_unique distinct) |"
  echo "| received by the subscriber | $received ($received_unique distinct; $unacked_received never acknowledged to their node) |"
  echo "| lost (acknowledged, never received) | **$lost** |"
  echo "| duplicates | $duplicates |"
  echo "| left in the gateway's store at its exit (uplink rows) | $held_at_exit |"
  echo "| downlink commands | $downlink_sent published, $downlink_received received by the nodes |"
  echo "| node-side failures (timeouts, rejections) | $sim_failures |"
  echo "| gateway exit | $gw_rc; sanitizer reports: $sanitizer (nodes: $sim_sanitizer) |"
  echo
  echo "RSS: VmRSS of /proc/PID/status every second ($(basename "$csv")). Acknowledged: the nodes' --ack-log"
  echo "(a line per PUBACK); received: a persistent QoS 1 mosquitto_sub on soak/up/# (broker persistence on)."
} >"$out"
cat "$out"
[ -s "$dir/lost-sample.txt" ] && { echo "first lost readings:"; cat "$dir/lost-sample.txt"; }
[ -s "$dir/held-at-exit.txt" ] && { echo "held in the gateway's store at its exit:"; cat "$dir/held-at-exit.txt"; }
if [ "$sanitizer" != 0 ] || [ "$gw_rc" != 0 ]; then
  echo "== gateway log (tail)"
  tail -50 "$dir/gw.log"
fi
exit "$status"
