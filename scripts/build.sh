#!/usr/bin/env bash
# Configures and builds tapegrad (Release, Ninja, ccache) into ./build.
# Installs missing Debian packages first. Extra arguments go to cmake's configure step.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DTAPEGRAD_BUILD_TESTS=ON -DTAPEGRAD_BUILD_EXAMPLES=ON "$@" >/dev/null
cmake --build build -j"$(nproc)"
