#!/usr/bin/env bash
# End-to-end run of the example trainers on a tiny generated dataset:
# flags, training, --metrics-json, --out files, --save, --resume, the refusal
# of a corrupt checkpoint, and honest exits: unwritable outputs refused before
# training, empty data, NaN losses, out-of-range numeric flags. Usage: trainer_smoke_test.sh BUILD_DIR
set -euo pipefail
build=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ex=$build/examples
fail() { echo "FAILED: $*" >&2; exit 1; }

mkdir -p "$work/data"
"$build/tests/make_tiny_mnist" "$work/data" 1000

# lenet5: train, write metrics/plots/checkpoint.
"$ex/lenet5" --data-dir "$work/data" --epochs 2 --batch-size 16 --threads 1 --out "$work/lenet" \
  --metrics-json "$work/lenet.json" --save "$work/lenet.tgc" --save-safetensors "$work/lenet.safetensors" \
  --export-onnx "$work/lenet.onnx" > "$work/lenet.log"
for key in test_accuracy train_loss epochs seconds images_per_second; do
  grep -q "\"$key\":" "$work/lenet.json" || fail "metrics json lacks $key: $(cat "$work/lenet.json")"
done
grep -q '"epochs":2' "$work/lenet.json" || fail "metrics json epochs: $(cat "$work/lenet.json")"
[ -s "$work/lenet/history.csv" ] || fail "no history.csv"
[ "$(wc -l < "$work/lenet/history.csv")" -eq 127 ] || fail "history.csv should have 1 + 2*63 lines"
[ "$(wc -l < "$work/lenet/epochs.csv")" -eq 3 ] || fail "epochs.csv should have 1 + 2 lines"
[ "$(wc -l < "$work/lenet/epochs.jsonl")" -eq 2 ] || fail "epochs.jsonl should have 2 lines"
[ -s "$work/lenet.tgc" ] && [ -s "$work/lenet.tgc.optim" ] || fail "no checkpoint"
grep -q '"tapegrad.layout":"pytorch"' "$work/lenet.safetensors" || fail "no safetensors file in PyTorch layout"
grep -q "exported $work/lenet.onnx" "$work/lenet.log" && grep -q "Gemm" "$work/lenet.onnx" &&
  grep -q "7.weight" "$work/lenet.onnx" || fail "no ONNX file of LeNet-5"

# --augment with loader threads: a different pass over the same data, same files.
"$ex/lenet5" --data-dir "$work/data" --epochs 1 --batch-size 16 --threads 1 --augment --workers 2 \
  --out "$work/aug" --metrics-json "$work/aug.json" > "$work/aug.log"
grep -q '"workers":2' "$work/aug.json" && grep -q '"augment":true' "$work/aug.json" ||
  fail "--augment --workers not in the metrics: $(cat "$work/aug.json")"

# --version: what the program runs on, and nothing trained.
"$ex/lenet5" --version > "$work/version.log"
grep -q "^lenet5, tapegrad [0-9]" "$work/version.log" && grep -q "BLAS kernel set: " "$work/version.log" ||
  fail "--version: $(cat "$work/version.log")"

# Resume: loads the model and optimizer, trains one more epoch.
"$ex/lenet5" --data-dir "$work/data" --epochs 1 --batch-size 16 --threads 1 --out "$work/lenet2" \
  --resume "$work/lenet.tgc" --metrics-json "$work/lenet2.json" > "$work/resume.log"
grep -q "resumed from" "$work/resume.log" || fail "resume did not say so"
acc=$(sed 's/.*"test_accuracy":\([0-9.e-]*\).*/\1/' "$work/lenet2.json")
awk -v a="$acc" 'BEGIN { exit !(a > 0.5) }' || fail "resumed model should classify the bars (accuracy $acc)"

# A corrupt checkpoint is refused with a message naming the file.
cp "$work/lenet.tgc" "$work/bad.tgc"
printf 'X' | dd of="$work/bad.tgc" bs=1 seek=100 conv=notrunc status=none
if "$ex/lenet5" --data-dir "$work/data" --epochs 1 --resume "$work/bad.tgc" --out "$work/bad" > "$work/bad.log" 2>&1; then
  fail "a corrupt checkpoint was accepted"
fi
grep -q "bad.tgc" "$work/bad.log" || fail "the refusal does not name the file: $(cat "$work/bad.log")"

# mnist_binary with both losses, and feature_maps.
"$ex/mnist_binary" --data-dir "$work/data" --epochs 1 --out "$work/bin" --metrics-json "$work/bin.json" > /dev/null
"$ex/mnist_binary" --data-dir "$work/data" --epochs 1 --loss hinge --out "$work/hinge" > /dev/null
"$ex/feature_maps" --data-dir "$work/data" --epochs 1 --out "$work/maps" > /dev/null
[ "$(ls "$work/maps"/*.png | grep -c _)" -ge 7 ] || fail "feature_maps wrote $(ls "$work/maps")"
"$ex/two_circles" --epochs 600 --out "$work/circles" > "$work/circles.log" || fail "two_circles did not separate the circles"
grep -q "Step: 500" "$work/circles.log" || fail "two_circles prints the loss every 500 steps"

# Honest exits (issue 15, rows 11 and 12). refused WHAT PATTERN COMMAND...: the
# command must exit non-zero within 30 s with PATTERN (an extended regex) in its output.
refused() {
  local what=$1 pattern=$2 log=$work/refused.log
  shift 2
  if timeout 30 "$@" > "$log" 2>&1; then fail "$what: exited 0: $(cat "$log")"; fi
  grep -Eq -- "$pattern" "$log" || fail "$what: expected /$pattern/ in: $(cat "$log")"
}
train=("$ex/lenet5" --data-dir "$work/data" --epochs 1 --batch-size 16 --threads 1)

# An output that cannot be written is refused before the first step: a regular
# file where a directory should be (unwritable even for root).
echo "in the way" > "$work/a-file"
for flag in --out --save --metrics-json; do
  target=$work/a-file/output
  refused "unwritable $flag" "^lenet5: $flag: cannot .*a-file.*nothing was trained" \
    "${train[@]}" --out "$work/fine" "$flag" "$target"
  if grep -q "^epoch 1/" "$work/refused.log"; then fail "unwritable $flag: it trained first: $(cat "$work/refused.log")"; fi
done

# An empty data set (IDX files of 0 images) is an error, not loss 0 and accuracy 0.
mkdir -p "$work/empty"
"$build/tests/make_tiny_mnist" "$work/empty" 0
refused "empty data set" "no samples" "$ex/lenet5" --data-dir "$work/empty" --epochs 1 --out "$work/e"
refused "empty 0-vs-1 data set" "no samples" "$ex/mnist_binary" --data-dir "$work/empty" --epochs 1 --out "$work/e"

# A learning rate that drives training to NaN stops it, naming the step; with
# --detect-anomaly the error names the op.
refused "NaN loss" "^lenet5: fit: .* nan at epoch 1, batch [0-9]+ \(step [0-9]+\).*--detect-anomaly" \
  "${train[@]}" --lr 1e308 --out "$work/nan"
refused "NaN loss, two_circles" "^two_circles: fit: .* nan at epoch [0-9]+, batch 1 \(step [0-9]+\)" \
  "$ex/two_circles" --lr 1e308 --out "$work/nan"
refused "NaN with --detect-anomaly" "^lenet5: anomaly detected: forward of op '[a-z0-9_]+' produced (NaN|Inf).* at epoch 1" \
  "${train[@]}" --lr 1e308 --out "$work/nan" --detect-anomaly

# Numeric flags: an epoch count beyond 10^9 is refused; a batch larger than the
# data set is one batch per epoch (its count overflowed int64 before).
refused "--epochs 3000000000" "^lenet5: --epochs must be at most 1000000000, got 3000000000" \
  "${train[@]}" --epochs 3000000000
"$ex/lenet5" --data-dir "$work/data" --epochs 2 --threads 1 --batch-size 9223372036854775807 --limit 100 \
  --out "$work/huge-batch" > "$work/huge-batch.log" 2>&1 || fail "--batch-size INT64_MAX: $(cat "$work/huge-batch.log")"
[ "$(wc -l < "$work/huge-batch/history.csv")" -eq 3 ] || fail "--batch-size INT64_MAX should give one batch per epoch"

# --help works and bad flags are refused.
"$ex/lenet5" --help | grep -q -- "--metrics-json" || fail "--help lacks --metrics-json"
if "$ex/lenet5" --epochs banana > /dev/null 2>&1; then fail "a bad flag value was accepted"; fi
echo "trainer smoke test: 1 passed, 0 failed"
