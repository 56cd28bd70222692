#!/usr/bin/env bash
# The benchmark command (README "Performance"): installs what is missing
# (including Debian's python3-torch), builds the benchmarks, and runs every
# workload in tapegrad and PyTorch side by side. Arguments go to bench/compare.py
# (--reps N, --threads N[,M...], --blas native[,prescott], --only a,b, --quick,
# --json FILE; see its docstring).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh python3-torch
scripts/build.sh -DTAPEGRAD_BUILD_BENCH=ON
exec /usr/bin/python3 bench/compare.py "$@"
