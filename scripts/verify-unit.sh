#!/usr/bin/env bash
# Checks the systemd unit the way CI can: without a running systemd (container or chroot).
#  1. Renders systemd/mqttsn-gw.service.in for prefix /usr (ExecStart=/usr/bin/mqttsn-gw), and the
#     web page's systemd/mqttsn-gwweb.service.in the same way.
#  2. Runs `systemd-analyze verify` on a temporary copy of each. If its program is not installed,
#     the copy's ExecStart points at a stand-in executable, because verify insists the binary exists.
#     Fails on a non-zero exit and on any diagnostic about the unit file itself (an unknown or
#     misspelt setting is only a warning to systemd, but it is an error here).
#  3. Applies the sysusers.d and tmpfiles.d snippets to a scratch root (--root), so their syntax,
#     the user, its dialout membership and the ownerships they set are checked too.
#  4. Prints the `systemd-analyze security --offline=true` exposure score (informational).
# Usage: scripts/verify-unit.sh [BINDIR] [SYSCONFDIR]   (defaults /usr/bin and /etc)
set -euo pipefail
cd "$(dirname "$0")/.."

bindir=${1:-/usr/bin}
sysconfdir=${2:-/etc}
template=${MQTTSN_UNIT_TEMPLATE:-systemd/mqttsn-gw.service.in}  # overridable to test this script

if ! command -v systemd-analyze >/dev/null; then
  echo "verify-unit: systemd-analyze not found (apt-get install -y systemd)" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# verify_unit TEMPLATE PROGRAM: renders TEMPLATE into $work/<its name without .in>, points ExecStart
# at a stand-in when PROGRAM is not installed, and runs systemd-analyze verify on it.
verify_unit() {
  local template=$1 program=$2
  local name
  name=$(basename "$template" .in)
  unit="$work/$name"
  sed -e "s|@CMAKE_INSTALL_FULL_BINDIR@|$bindir|g" -e "s|@MQTTSN_CONFIG_DIR@|$sysconfdir/mqttsn-gw|g" \
    "$template" >"$unit"
  if grep -n '@[A-Z_]*@' "$unit"; then
    echo "verify-unit: $template has a placeholder this script does not fill in" >&2
    exit 1
  fi
  grep '^ExecStart=' "$unit"

  local binary="$bindir/$program"
  if [ ! -x "$binary" ]; then
    local stand_in="$work/bin/$program"
    mkdir -p "$work/bin"
    printf '#!/bin/sh\nexit 0\n' >"$stand_in"
    chmod 755 "$stand_in"
    sed -i "s|^ExecStart=$binary |ExecStart=$stand_in |" "$unit"
    echo "verify-unit: $binary is not installed; verifying with a stand-in at ExecStart"
  fi

  echo "== systemd-analyze verify $name"
  local status=0 output ours
  # --man=no: no man pages in containers. Messages about other units (e.g. mosquitto.service not
  # installed) are not our problem; messages naming our file are.
  output=$(SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no "$unit" 2>&1) || status=$?
  [ -n "$output" ] && printf '%s\n' "$output"
  ours=$(printf '%s\n' "$output" | grep -F "$name" || true)
  if [ "$status" -ne 0 ] || [ -n "$ours" ]; then
    echo "verify-unit: $name FAILED (exit $status)" >&2
    exit 1
  fi
  echo "verify-unit: $name OK"
}

# The web page's companion first, so that $unit is the daemon's for the security report below.
verify_unit systemd/mqttsn-gwweb.service.in mqttsn-gwweb
verify_unit "$template" mqttsn-gw

echo "== sysusers.d / tmpfiles.d snippets (scratch root)"
root="$work/root"
mkdir -p "$root/etc/mqttsn-gw" "$root/usr/lib/sysusers.d" "$root/usr/lib/tmpfiles.d"
cp systemd/mqttsn-gw.sysusers.conf "$root/usr/lib/sysusers.d/mqttsn-gw.conf"
cp systemd/mqttsn-gw.tmpfiles.conf "$root/usr/lib/tmpfiles.d/mqttsn-gw.conf"
touch "$root/etc/mqttsn-gw/broker-password"
out=$(systemd-sysusers --root="$root" 2>&1) || { printf "%s\n" "$out" >&2; exit 1; }
systemd-tmpfiles --root="$root" --create mqttsn-gw.conf
grep -q '^mqttsn-gw:' "$root/etc/passwd" || { echo "verify-unit: sysusers did not create mqttsn-gw" >&2; exit 1; }
grep -Eq '^dialout:.*[:,]mqttsn-gw(,|$)' "$root/etc/group" || {
  echo "verify-unit: mqttsn-gw is not in group dialout" >&2
  exit 1
}
[ "$(stat -c %a "$root/var/lib/mqttsn-gw")" = 750 ] || { echo "verify-unit: tmpfiles: wrong state dir mode" >&2; exit 1; }
echo "verify-unit: snippets OK"

echo "== systemd-analyze security --offline=true"
if security=$(systemd-analyze security --offline=true --no-pager "$unit" 2>&1); then
  printf '%s\n' "$security" | grep -E '^(✗|✓)?.*Overall exposure level|→ Overall' || printf '%s\n' "$security" | tail -n 1
else
  echo "verify-unit: 'systemd-analyze security --offline=true' not supported here (informational only)"
  printf '%s\n' "$security" | tail -n 3
fi
