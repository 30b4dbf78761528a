#!/usr/bin/env bash
# Installs the Debian packages the project needs to build, test and run its demo (scripts/packages.txt),
# skipping those already there. Idempotent; works as root or through sudo. Package names are Debian
# bookworm's (the same exist on Raspberry Pi OS).
set -euo pipefail

# The package list: scripts/packages.txt (first column), which CMake and the cross build read too.
# `install-deps.sh demo` leaves out the test-only tools (a browser is no part of the demo).
skip_kind=none
[ "${1:-}" = demo ] && skip_kind=test-tool
mapfile -t packages < <(sed -e 's/#.*//' "$(dirname "$0")/packages.txt" | awk -v skip="$skip_kind" 'NF && $2 != skip { print $1 }')

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO=sudo; else
    echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1
  fi
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
# The Debian mosquitto package starts a system broker on port 1883; our tests and demo start their
# own on free ports and never need it.
