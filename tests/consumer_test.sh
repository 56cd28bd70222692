#!/usr/bin/env bash
# Builds examples/consumer against tapegrad and runs it, the ways another
# project can use tapegrad:
#   package      (cmake --install into a temporary prefix, then find_package;
#                 tapegrad::tapegrad and tapegrad::xtensor)
#   subdirectory (add_subdirectory of the source tree)
#   fetchcontent (FetchContent from the local source path)
#   pkgconfig    (cmake --install, then `pkg-config --cflags --libs tapegrad`:
#                 every path it gives lies in the prefix, and a program compiled
#                 with just those flags links and runs)
# Usage: consumer_test.sh <tapegrad-build-dir> <tapegrad-source-dir> <mode>
set -euo pipefail
build=$1 src=$2 mode=$3
# A fixed place inside tapegrad's build tree (not mktemp): with ccache's base
# directory at the source tree, the nested builds then compile with the same
# relative paths on every run and in both nested modes, and hit the cache.
work=$build/consumer-$mode
rm -rf "$work"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$(cd "$src" && pwd -P)} CCACHE_NOHASHDIR=1
fail() { echo "FAILED: $*" >&2; exit 1; }

if [ "$mode" = package ] || [ "$mode" = pkgconfig ]; then
  cmake --install "$build" --prefix "$work/prefix" >/dev/null
fi

if [ "$mode" = pkgconfig ]; then
  prefix=$(cd "$work/prefix" && pwd -P)
  pc=$(find "$prefix" -name tapegrad.pc)
  [ -n "$pc" ] || fail "no tapegrad.pc installed under $prefix"
  flags=$(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --cflags --libs tapegrad)
  echo "pkg-config --cflags --libs tapegrad: $flags"
  includes=0 libdirs=0
  for flag in $flags; do
    case $flag in
      -I* | -L*)
        dir=$(realpath -m "${flag:2}")
        case $dir in "$prefix"/*) ;; *) fail "$flag is not under the install prefix $prefix" ;; esac
        [ -d "$dir" ] || fail "$flag names no directory"
        if [ "${flag:0:2}" = -I ]; then includes=$((includes + 1)); else libdirs=$((libdirs + 1)); fi
        ;;
    esac
  done
  [ "$includes" -ge 1 ] && [ "$libdirs" -ge 1 ] || fail "expected -I and -L flags: $flags"
  case $flags in *"/usr/local"*) fail "pkg-config points into /usr/local: $flags" ;; esac
  # shellcheck disable=SC2086  # the flags are words
  c++ -O1 -o "$work/consumer" "$src/examples/consumer/main.cpp" $flags
  "$work/consumer"
  exit 0
fi

args=(-G Ninja -DCMAKE_BUILD_TYPE=Release -DTAPEGRAD_CONSUME="$mode" -DTAPEGRAD_SOURCE_DIR="$src")
if [ "$mode" = package ]; then args+=(-DCMAKE_PREFIX_PATH="$work/prefix"); fi
if command -v ccache >/dev/null; then args+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
cmake -S "$src/examples/consumer" -B "$work/build" "${args[@]}" >/dev/null
start=$(date +%s%N)
cmake --build "$work/build" --target consumer consumer_xtensor >/dev/null
echo "consumer ($mode) built in $(( ($(date +%s%N) - start) / 1000000 )) ms"
"$work/build/consumer"
"$work/build/consumer_xtensor"
