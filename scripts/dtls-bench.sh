#!/usr/bin/env bash
# DTLS against plain UDP, side by side in one run: the same gateway configuration carries a plain UDP
# link and a DTLS link (PSK), and mqttsn-bench runs the same QoS 1 load through each, one after the
# other, each with a fresh gateway and mosquitto. A third run handshakes many clients at once: the
# handshake rate, and the gateway's RSS and heap growth per association; a fourth connects as many in
# clear, so that the heap per connected client on either link tells what an association costs.
#
#   scripts/dtls-bench.sh                    # 50 clients x window 10, 20,000 QoS 1 messages; 500 handshakes
#   COUNT=5000 HANDSHAKES=200 scripts/dtls-bench.sh
#
# Environment: BUILD_DIR (default build), COUNT, CLIENTS (50), HANDSHAKES (500), OUT (the summary,
# default $BUILD_DIR/dtls-bench.md; the JSON lines beside it).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh
bench_binaries
bench_workdir

count=${COUNT:-20000}
clients=${CLIENTS:-50}
handshakes=${HANDSHAKES:-500}
out=${OUT:-$build/dtls-bench.md}
jsonl="${out%.md}.jsonl"
rm -f "$jsonl"
key=$(openssl rand -hex 16)

udp_port=$(free_port)
second_port=$(free_port)
dtls_port=$(free_port)
mqtt_port=$(free_port)
run_one() {  # $1 label, then mqttsn-bench options
  local label=$1
  shift
  mkdir -p "$dir/$label"
  write_gateway_config "$dir/$label/gateway.toml" "$udp_port" "$second_port" "$mqtt_port" "$dir/$label"
  echo "bench:$key" > "$dir/$label/psk"
  cat >> "$dir/$label/gateway.toml" <<TOML

[[link]]
kind = "udp"
name = "dtls"
bind_address = "127.0.0.1"
port = $dtls_port
broadcast_address = ""
receive_buffer = "32M"
dtls = true
psk_file = "psk"
max_sessions = 20000
max_handshakes = 10000
TOML
  echo "== $label"
  "$bench_bin" --label "$label" --mosquitto-port "$mqtt_port" --no-direct \
    --gateway-cmd "$(realpath "$gw_bin")" --gateway-config "$dir/$label/gateway.toml" \
    --gateway-log "$dir/$label/gateway.log" --json-out "$jsonl" --quiet "$@" || status=1
  cp "$dir/$label/gateway.log" "${out%.md}-$label.log"
}
status=0

load=(--qos 1 --clients "$clients" --window 10 --count "$count")
run_one udp --gateway "127.0.0.1:$udp_port" "${load[@]}"
run_one dtls --gateway "127.0.0.1:$dtls_port" --probe-gateway "127.0.0.1:$udp_port" --dtls-psk "bench:$key" "${load[@]}"
run_one dtls-handshakes --gateway "127.0.0.1:$dtls_port" --probe-gateway "127.0.0.1:$udp_port" --dtls-psk "bench:$key" \
  --qos 1 --clients "$handshakes" --window 1 --count "$handshakes"
# The same clients in clear: the heap a connected client costs without an association, to take from
# the DTLS one's.
run_one udp-clients --gateway "127.0.0.1:$udp_port" --qos 1 --clients "$handshakes" --window 1 --count "$handshakes"

python3 - "$jsonl" "$out" "$count" "$clients" "$handshakes" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def get(r, *path):
    for p in path:
        if not isinstance(r, dict) or p not in r: return None
        r = r[p]
    return r
by = {get(r, "variant"): r for r in rows}
lines = ["# DTLS vs plain UDP, one run", "",
         f"QoS 1, {sys.argv[4]} clients x window 10, {sys.argv[3]} messages, store on; then {sys.argv[5]} DTLS clients handshaking at once.", "",
         "| link | msg/s | gateway CPU us/msg | PUBACK p50 / p99 ms | lost (acked) | RSS kB after |",
         "|---|---|---|---|---|---|"]
for v in ("udp", "dtls"):
    r = by.get(v)
    if r is None: continue
    g = lambda *p: get(r, "gateway", *p) if get(r, "gateway") is not None else get(r, *p)
    lat = g("ack_latency_us") or {}
    lines.append("| %s | %s | %s | %s / %s | %s | %s |" % (
        v, round((g("delivered") or 0) / (g("elapsed_s") or 1)), "%.1f" % (g("cpu_us_per_msg") or 0),
        "%.2f" % ((lat.get("p50") or 0) / 1000), "%.2f" % ((lat.get("p99") or 0) / 1000),
        g("lost_acked"), get(g("proc") or {}, "rss_kb")))
h = by.get("dtls-handshakes")
d = None
if h is not None:
    d = get(h, "gateway", "dtls") or get(h, "dtls")
if d:
    lines += ["", "Handshakes: %d in %.2f s = %.0f/s (all at once, PSK, ECDHE-PSK); gateway RSS growth %.0f bytes per association, heap in use %.0f bytes per idle association." % (
        d["handshakes"], d["seconds"], d["handshakes_per_s"], d.get("rss_bytes_per_association") or 0,
        d.get("heap_bytes_per_association") or 0)]
u = by.get("udp-clients")
if h is not None and u is not None:
    hd, hu = get(h, "gateway", "heap_bytes_per_client"), get(u, "gateway", "heap_bytes_per_client")
    if hd is not None and hu is not None:
        lines += ["", "Heap in use per connected client (CONNECT and a QoS 1 publish done, %d clients): %.0f bytes over DTLS, %.0f in clear: %.0f bytes per association." % (
            int(sys.argv[5]), hd, hu, hd - hu)]
open(sys.argv[2], "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
echo "== summary: $out   JSON lines: $jsonl   gateway logs: ${out%.md}-*.log"
exit "$status"
