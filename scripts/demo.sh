#!/usr/bin/env bash
# The README's main command: installs what is missing (Debian packages,
# including the Fashion-MNIST package used when MNIST is not found), builds,
# and trains LeNet-5 on MNIST, writing charts and metrics into out/lenet5.
# Extra arguments go to the trainer (see build/examples/lenet5 --help).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/data-env.sh
scripts/install-deps.sh dataset-fashion-mnist
scripts/build.sh
exec build/examples/lenet5 --out out/lenet5 --metrics-json out/lenet5/metrics.json --save out/lenet5/lenet5.tgc "$@"
