#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
scripts/build.sh
echo "build finished in $(( $(date +%s) - start )) s"
cd build
ctest --output-on-failure -j"$(nproc)"
echo "build + tests finished in $(( $(date +%s) - start )) s"
