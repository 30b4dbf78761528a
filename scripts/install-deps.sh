#!/usr/bin/env bash
# Installs the Debian packages the project needs to build, test and run its demo, skipping those
# already there. Idempotent; works as root or through sudo. Package names are Debian bookworm's
# (the same exist on Raspberry Pi OS).
set -euo pipefail

packages=(
  build-essential cmake pkg-config git ca-certificates
  libuv1-dev libpaho-mqtt-dev libserialport-dev libssl-dev openssl
  libtomlplusplus-dev nlohmann-json3-dev libcli11-dev libsystemd-dev libsqlite3-dev sqlite3
  doctest-dev mosquitto mosquitto-clients
  clang libclang-rt-dev procps iproute2 systemd  # libclang-rt-dev: libFuzzer and sanitizer runtimes (clang only recommends them)
)

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
