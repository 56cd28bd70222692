#!/usr/bin/env bash
# The char_lm trainer end to end on a small generated corpus of fortune files:
# both models learn it (validation bits per character well below the 6.6 of a
# uniform guess over its 16 symbols, 4 bits), write history.csv, metrics.json and a sample,
# save and resume; a bad --model and a missing corpus are refused.
# Usage: char_lm_test.sh BUILD_DIR
set -euo pipefail
build=$1
char_lm=$build/examples/char_lm
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAILED: $*" >&2; exit 1; }
bpc() { sed 's/.*"validation_bpc":\([0-9.e-]*\).*/\1/' "$1"; }

# Two fortune files (and a .dat index and a .u8 link the reader must skip):
# short sentences made of a few words, so a model learns them in seconds.
mkdir "$work/fortunes"
awk 'BEGIN {
  srand(3)
  split("the cat dog sat ran on under a mat tree", w, " ")
  for (i = 0; i < 400; i++) {
    printf "%s %s %s %s %s.\n%%\n", w[1], w[2 + int(rand() * 2)], w[4 + int(rand() * 2)], w[6 + int(rand() * 2)], w[1] " " w[9 + int(rand() * 2)]
  }
}' > "$work/fortunes/animals"
head -c 300 /dev/urandom > "$work/fortunes/animals.dat"
ln -s animals "$work/fortunes/animals.u8"
printf 'a tree sat on the mat.\n%%\nthe dog ran under a tree.\n' > "$work/fortunes/more"

common=(--data-dir "$work/fortunes" --threads 1 --seq-len 16 --eval-steps 20 --eval-windows 64 --sample-chars 60)
for model in lstm transformer; do
  "$char_lm" "${common[@]}" --model "$model" --epochs 10 --batch-size 64 --lr 4e-3 --warmup 10 --out "$work/$model" \
    --metrics-json "$work/$model.json" --save "$work/$model.ckpt" > "$work/$model.log"
  grep -q "402 quotations" "$work/$model.log" || fail "$model: unexpected corpus line: $(head -1 "$work/$model.log")"
  grep -q -- "--- sample (temperature 0.80) ---" "$work/$model.log" || fail "$model: no sample"
  b=$(bpc "$work/$model.json")
  awk -v b="$b" 'BEGIN { exit !(b < 1.0) }' || fail "$model: validation $b bpc, expected < 1.0 on this corpus"
  [ "$(head -1 "$work/$model/history.csv")" = "epoch,batch,loss,accuracy" ] || fail "$model: no history.csv"
  # Resuming continues from the saved model: its first validation is already good.
  "$char_lm" "${common[@]}" --model "$model" --epochs 1 --lr 1e-4 --warmup 0 --resume "$work/$model.ckpt" \
    --metrics-json "$work/$model.resumed.json" --out "$work/$model.resumed" > "$work/$model.resumed.log"
  grep -q "resumed from" "$work/$model.resumed.log" || fail "$model: did not resume"
  r=$(bpc "$work/$model.resumed.json")
  awk -v r="$r" 'BEGIN { exit !(r < 1.0) }' || fail "$model: resumed at $r bpc, expected < 1.0 (an untrained model scores about 4)"
  echo "char_lm $model: validation $b bpc, resumed $r bpc"
done

if "$char_lm" --model gru --data-dir "$work/fortunes" > "$work/bad.log" 2>&1; then fail "--model gru accepted"; fi
grep -q -- "--model: expected lstm or transformer, got gru" "$work/bad.log" || fail "bad --model message: $(cat "$work/bad.log")"
if "$char_lm" --export-onnx "$work/m.onnx" --data-dir "$work/fortunes" > "$work/onnx.log" 2>&1; then
  fail "--export-onnx accepted"
fi
grep -q -- "--export-onnx: not available for char_lm" "$work/onnx.log" || fail "--export-onnx message: $(cat "$work/onnx.log")"
if "$char_lm" --data-dir "$work/none" > "$work/none.log" 2>&1; then fail "a missing corpus was accepted"; fi
grep -q "not a directory" "$work/none.log" || fail "missing corpus message: $(cat "$work/none.log")"
echo "char_lm test: passed"
