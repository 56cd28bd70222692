#!/usr/bin/env bash
# Builds examples/consumer against tapegrad three ways and runs it:
#   package      (cmake --install into a temporary prefix, then find_package)
#   subdirectory (add_subdirectory of the source tree)
#   fetchcontent (FetchContent from the local source path)
# Usage: consumer_test.sh <tapegrad-build-dir> <tapegrad-source-dir> <mode>
set -euo pipefail
build=$1 src=$2 mode=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
args=(-G Ninja -DCMAKE_BUILD_TYPE=Release -DTAPEGRAD_CONSUME="$mode" -DTAPEGRAD_SOURCE_DIR="$src")
if [ "$mode" = package ]; then
  cmake --install "$build" --prefix "$work/prefix" >/dev/null
  args+=(-DCMAKE_PREFIX_PATH="$work/prefix")
fi
if command -v ccache >/dev/null; then args+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
cmake -S "$src/examples/consumer" -B "$work/build" "${args[@]}" >/dev/null
start=$(date +%s%N)
cmake --build "$work/build" --target consumer >/dev/null
echo "consumer ($mode) built in $(( ($(date +%s%N) - start) / 1000000 )) ms"
"$work/build/consumer"
