#!/usr/bin/env bash
# Configures and builds one preset of CMakePresets.json (dev, release, asan, fuzz, arm64, armhf), each
# in its own build directory. Usage: scripts/build.sh PRESET [extra cmake options...]
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-dev}; shift || true
cmake --preset "$preset" "$@" >/dev/null
cmake --build --preset "$preset" -j "$(nproc)"
