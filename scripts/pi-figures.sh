#!/usr/bin/env bash
# The Raspberry Pi figures (docs/raspberry-pi.md), from packages already built by scripts/cross-build.sh:
#   - the size of each .deb found (build-pkg/, build-arm64/, build-armhf/),
#   - the stripped mqttsn-gw and mqttsn-gwctl inside each,
#   - the idle RSS of each mqttsn-gw (the arm64 one under qemu-aarch64-static), started with one UDP link
#     on a free loopback port and an upstream to a private mosquitto, store in a temporary directory;
#     VmRSS read from /proc after IDLE_SECONDS (default 5).
# Under qemu the RSS is qemu's own process (emulator + translated code + the guest's memory): a sanity
# check that nothing balloons on the target architecture, not a Raspberry Pi figure.
# Usage: scripts/pi-figures.sh [DEB...]   (default: every build-*/mqttsn-gw_*.deb)
set -euo pipefail
cd "$(dirname "$0")/.."
idle=${IDLE_SECONDS:-5}

debs=("$@")
if [ ${#debs[@]} -eq 0 ]; then
  mapfile -t debs < <(ls build-pkg/mqttsn-gw_*.deb build-arm64/mqttsn-gw_*.deb build-armhf/mqttsn-gw_*.deb 2>/dev/null)
fi
[ ${#debs[@]} -gt 0 ] || { echo "pi-figures: no .deb found; run scripts/cross-build.sh first" >&2; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# free_port and start_mosquitto.
# shellcheck source=scripts/mosquitto-lib.sh
. scripts/mosquitto-lib.sh

start_mosquitto "$work"
pids+=("$MOSQUITTO_PID")
broker_port=$MOSQUITTO_PORT

printf '%-34s %10s %12s %12s %10s\n' package "deb bytes" "gw bytes" "gwctl bytes" "idle RSS"
for deb in "${debs[@]}"; do
  arch=$(dpkg-deb -f "$deb" Architecture)
  root="$work/$arch"
  dpkg-deb -x "$deb" "$root"
  gw="$root/usr/bin/mqttsn-gw"
  run=("$gw")
  case $arch in
    "$(dpkg --print-architecture)") ;;
    arm64) run=(qemu-aarch64-static -L / "$gw") ;;
    armhf) run=(qemu-arm-static -L / "$gw") ;;
    *) echo "pi-figures: no emulator for $arch" >&2; exit 1 ;;
  esac
  udp_port=$(free_port)
  cat >"$work/$arch.toml" <<EOF
[gateway]
advertise_interval = "0s"
predefined_topics_file = ""
[[link]]
kind = "udp"
bind_address = "127.0.0.1"
port = $udp_port
broadcast_address = ""
[upstream]
servers = ["tcp://127.0.0.1:$broker_port"]
client_id = "pi-figures-$arch"
[access]
clients_file = ""
acl_file = ""
[status]
socket = "$work/$arch.sock"
[store]
path = "$work/$arch.db"
EOF
  "${run[@]}" --config "$work/$arch.toml" >"$work/$arch.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  sleep "$idle"
  if ! kill -0 "$pid" 2>/dev/null; then
    cat "$work/$arch.log" >&2
    echo "pi-figures: the $arch gateway exited" >&2
    exit 1
  fi
  rss=$(awk '/^VmRSS:/ { print $2 " " $3 }' "/proc/$pid/status")
  # Idle means serving: the link open and the broker connection up, not stuck before either.
  if ! grep -q 'mqttsn-gw ready' "$work/$arch.log" || ! grep -q 'upstream: connected to' "$work/$arch.log"; then
    cat "$work/$arch.log" >&2
    echo "pi-figures: the $arch gateway is not ready and connected after $idle s" >&2
    exit 1
  fi
  kill "$pid"
  wait "$pid" || true
  printf '%-34s %10s %12s %12s %10s\n' "$(basename "$deb")" "$(stat -c %s "$deb")" "$(stat -c %s "$gw")" \
    "$(stat -c %s "$root/usr/bin/mqttsn-gwctl")" "$rss"
done
