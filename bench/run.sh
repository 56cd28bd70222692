#!/usr/bin/env bash
# The benchmark command (README "Performance"): installs what is missing
# (including Debian's python3-torch), builds the benchmarks, and runs every
# workload in tapegrad and PyTorch side by side. Arguments go to bench/compare.py
# (--reps N, --threads N[,M...], --blas native[,prescott], --only a,b, --quick,
# --json FILE; see its docstring), then bench/memory.sh prints peak resident
# memory beside PyTorch.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh python3-torch
scripts/build.sh -DTAPEGRAD_BUILD_BENCH=ON
/usr/bin/python3 bench/compare.py "$@"
# Then peak resident memory of whole programs (bench/memory.sh), unless only
# some workloads or the quick smoke run were asked for.
case " $* " in
  *" --only"* | *" --quick"*) ;;
  *) bench/memory.sh --no-build ;;
esac
