#!/usr/bin/env bash
# End-to-end run of the example trainers on a tiny generated dataset:
# flags, training, --metrics-json, --out files, --save, --resume, and the
# refusal of a corrupt checkpoint. Usage: trainer_smoke_test.sh BUILD_DIR
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
  --metrics-json "$work/lenet.json" --save "$work/lenet.tgc" > "$work/lenet.log"
for key in test_accuracy train_loss epochs seconds images_per_second; do
  grep -q "\"$key\":" "$work/lenet.json" || fail "metrics json lacks $key: $(cat "$work/lenet.json")"
done
grep -q '"epochs":2' "$work/lenet.json" || fail "metrics json epochs: $(cat "$work/lenet.json")"
[ -s "$work/lenet/history.csv" ] || fail "no history.csv"
[ "$(wc -l < "$work/lenet/history.csv")" -eq 127 ] || fail "history.csv should have 1 + 2*63 lines"
[ -s "$work/lenet.tgc" ] && [ -s "$work/lenet.tgc.optim" ] || fail "no checkpoint"

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

# --help works and bad flags are refused.
"$ex/lenet5" --help | grep -q -- "--metrics-json" || fail "--help lacks --metrics-json"
if "$ex/lenet5" --epochs banana > /dev/null 2>&1; then fail "a bad flag value was accepted"; fi
echo "trainer smoke test: 1 passed, 0 failed"
