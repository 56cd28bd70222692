#!/usr/bin/env bash
# Memory soak: trains LeNet-5 on generated data for STEPS steps (default 10000)
# and fails when the autograd tape is not freed after a step, when tapegrad's
# bytes in use change after warm-up, or when the process RSS grows by more than
# a small tolerance (bench/soak.cpp). Prints a line every 1000 steps.
#
#   scripts/soak.sh [STEPS] [--batch N] [--every N] [--rss-tolerance-mb MB] [--lr LR]
set -euo pipefail
cd "$(dirname "$0")/.."
steps="${1:-10000}"
[ $# -gt 0 ] && shift
scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DTAPEGRAD_BUILD_BENCH=ON >/dev/null
cmake --build build -j"$(nproc)" --target soak
exec build/bench/soak "$steps" "$@"
