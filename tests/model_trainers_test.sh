#!/usr/bin/env bash
# The resnet and autoencoder trainers end to end on a tiny generated dataset
# (tests/tools/make_tiny_mnist.cpp, whose IDX files stand in for Fashion-MNIST
# and MNIST alike): flags, a few steps of training, history.csv / epochs.csv,
# --metrics-json, --save and --resume, --save-safetensors with the PyTorch
# names of the residual blocks' batch norms, --export-onnx (BatchNormalization,
# ConvTranspose), the reconstruction grid, and refused flags.
# Usage: model_trainers_test.sh BUILD_DIR
set -euo pipefail
build=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ex=$build/examples
fail() { echo "FAILED: $*" >&2; exit 1; }

mkdir -p "$work/data"
"$build/tests/make_tiny_mnist" "$work/data" 400

# resnet: a narrow network, two epochs of 13 batches.
"$ex/resnet" --data-dir "$work/data" --epochs 2 --batch-size 32 --threads 1 --widths 4,8 --out "$work/resnet" \
  --metrics-json "$work/resnet.json" --save "$work/resnet.tgc" --save-safetensors "$work/resnet.safetensors" \
  --export-onnx "$work/resnet.onnx" > "$work/resnet.log"
grep -q "^resnet (fashion-mnist): test accuracy" "$work/resnet.log" || fail "no summary line: $(cat "$work/resnet.log")"
[ "$(wc -l < "$work/resnet/history.csv")" -eq 27 ] || fail "history.csv should have 1 + 2*13 lines"
[ "$(wc -l < "$work/resnet/epochs.csv")" -eq 3 ] || fail "epochs.csv should have 1 + 2 lines"
for key in '"test_accuracy":' '"augment":true' '"crop_padding":2' '"widths":"4,8"' '"schedule":"onecycle"'; do
  grep -q "$key" "$work/resnet.json" || fail "metrics json lacks $key: $(cat "$work/resnet.json")"
done
[ -s "$work/resnet.tgc" ] && [ -s "$work/resnet.tgc.optim" ] || fail "no checkpoint"
# PyTorch's names: the second stage's block projects its shortcut (conv, batch norm).
for name in 3.bn1.running_mean 4.shortcut.0.weight 4.shortcut.1.running_var 7.weight; do
  grep -q "\"$name\"" "$work/resnet.safetensors" || fail "safetensors lacks $name"
done
grep -q BatchNormalization "$work/resnet.onnx" && grep -q GlobalAveragePool "$work/resnet.onnx" ||
  fail "the ONNX file has no BatchNormalization / GlobalAveragePool"

# --resume: one more epoch from the checkpoint, no augmentation, constant learning rate.
"$ex/resnet" --data-dir "$work/data" --epochs 1 --batch-size 32 --threads 1 --widths 4,8 --no-augment \
  --schedule constant --lr 0.02 --resume "$work/resnet.tgc" --out "$work/resnet2" --metrics-json "$work/resnet2.json" \
  > "$work/resnet2.log"
grep -q "resumed from" "$work/resnet2.log" || fail "resume did not say so"
grep -q '"augment":false' "$work/resnet2.json" || fail "--no-augment not in the metrics"

# autoencoder: one epoch, the grid and the test MSE.
"$ex/autoencoder" --data-dir "$work/data" --epochs 2 --batch-size 32 --threads 1 --show 6 --out "$work/ae" \
  --metrics-json "$work/ae.json" --export-onnx "$work/ae.onnx" > "$work/ae.log"
grep -Eq "^epoch 2/2  loss [0-9.]+  test loss [0-9.]+" "$work/ae.log" || fail "no epoch lines: $(cat "$work/ae.log")"
grep -Eq "^autoencoder \(mnist\): test loss [0-9.]+" "$work/ae.log" || fail "no test loss: $(cat "$work/ae.log")"
[ -s "$work/ae/reconstructions.png" ] || fail "no reconstructions.png"
[ "$(head -c 8 "$work/ae/reconstructions.png" | od -An -c | tr -d ' ')" = '211PNG\r\n032\n' ] || fail "not a PNG"
[ "$(wc -l < "$work/ae/epochs.csv")" -eq 3 ] || fail "autoencoder epochs.csv should have 1 + 2 lines"
[ ! -e "$work/ae/loss_accuracy.png" ] || fail "an autoencoder has no accuracy to chart"
grep -q '"code_channels":4' "$work/ae.json" && grep -Eq '"test_loss":[0-9]' "$work/ae.json" ||
  fail "metrics json: $(cat "$work/ae.json")"
grep -q ConvTranspose "$work/ae.onnx" || fail "the ONNX file has no ConvTranspose"

# Bad flags are refused, naming the flag.
if "$ex/resnet" --widths 4,x --data-dir "$work/data" > "$work/bad.log" 2>&1; then fail "--widths 4,x accepted"; fi
grep -q -- "--widths" "$work/bad.log" || fail "the refusal does not name --widths: $(cat "$work/bad.log")"
if "$ex/resnet" --schedule cosine --data-dir "$work/data" > "$work/bad.log" 2>&1; then fail "--schedule cosine accepted"; fi
if "$ex/autoencoder" --code-channels 0 > /dev/null 2>&1; then fail "--code-channels 0 accepted"; fi
echo "model trainers test: 1 passed, 0 failed"
