#!/usr/bin/env bash
# LeNet-5, the seed CNN, the two-circles MLP, the ResNet and the autoencoder exported by tg::onnx::export_model
# pass onnx.checker and, run by OpenCV's DNN module on another batch size than
# the traced one, give tapegrad's outputs within 1e-4 (tests/onnx_export_check.py).
# Exits 77 (skipped) when /usr/bin/python3 cannot import onnx and cv2
# (Debian: apt-get install python3-onnx python3-opencv; scripts/install-deps.sh does).
# Usage: onnx_export_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
source=$2
python=${TAPEGRAD_ONNX_PYTHON:-/usr/bin/python3}
if ! "$python" -c "import onnx, cv2, numpy" 2> /dev/null; then
  echo "onnx or cv2 not importable by $python (apt-get install python3-onnx python3-opencv): skipped"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$build/tests/models_to_onnx" "$work"
"$python" "$source/tests/onnx_export_check.py" "$work" lenet5 lenet5_opset11 lenet5_opset17 seed_cnn two_circles op_mix tied depthwise \
  resnet autoencoder transposed transposed_dilated:numpy batch_norm_1d reductions:numpy reductions_opset11:numpy
