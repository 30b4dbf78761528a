#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, and runs the gateway end to end on
# this machine (scripts/run-demo.sh has the details).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh demo
echo "== building (first time: a few minutes)"
# The release preset (build-release/): the demo never shares a build tree with the tests' options.
bash scripts/build.sh release
exec bash scripts/run-demo.sh build-release
