#!/usr/bin/env bash
# Installs tapegrad's build and test dependencies from Debian's packages.
# Idempotent: packages already present are skipped, and apt is not touched at all
# when nothing is missing. Runs as root, or through sudo when available.
#
# Usage: scripts/install-deps.sh [extra-package ...]
set -euo pipefail

packages=(
  cmake g++ ninja-build ccache pkg-config
  libxtensor-dev libxtensor-blas-dev libxsimd-dev xtl-dev
  libopenblas-dev catch2 zlib1g-dev libstb-dev
  libopenmpi-dev openmpi-bin
  gnuplot-nox  # PNG charts of the example trainers (optional at run time)
  clang libclang-rt-14-dev  # libFuzzer for scripts/fuzz.sh
  python3-sklearn  # real CSV data sets (sklearn/datasets/data/) for the tabular trainer's test
  python3-torch  # PyTorch loads the safetensors files tapegrad writes (tests/torch_roundtrip_test.sh)
  python3-onnx python3-opencv  # onnx.checker and OpenCV's DNN check ONNX exports (tests/onnx_export_test.sh)
  dataset-fashion-mnist  # Fashion-MNIST for the resnet trainer (/usr/share/datasets/fashion-mnist)
  fortunes  # a real English text corpus for the char_lm trainer (/usr/share/games/fortunes)
  "$@"
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "install-deps: missing packages (${missing[*]}) and not root; install them or rerun as root" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
