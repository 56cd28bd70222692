#!/usr/bin/env bash
# The tabular trainer end to end. Usage: tabular_test.sh BUILD_DIR smoke|sklearn
#
#   smoke    a small CSV generated here (a header, quoted cells, a categorical
#            column, the target by name; then the same rows gzip-compressed,
#            without a header, the target by index) trains to a high accuracy,
#            --metrics-json has test_accuracy, and a missing value is refused
#            naming the line and column.
#   sklearn  the accuracies the README quotes, on the CSV files of Debian's
#            python3-sklearn (scripts/install-deps.sh installs it), with the
#            trainer's defaults: breast_cancer >= 96 %, wine >= 95 %,
#            digits >= 96 %. Exits 77 (skipped) when the files are not found.
set -euo pipefail
build=$1
mode=$2
tabular=$build/examples/tabular
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAILED: $*" >&2; exit 1; }
accuracy() { sed 's/.*"test_accuracy":\([0-9.e-]*\).*/\1/' "$1"; }

if [ "$mode" = smoke ]; then
  # 400 rows (4 features: x, y and colour one-hot): the class is which side of a line (x + 2y = 0) the point lies on,
  # and "colour" says the same half of the time; cells are quoted now and then.
  awk 'BEGIN {
    srand(7)
    print "x,\"y, scaled\",colour,label"
    for (i = 0; i < 400; i++) {
      x = rand() * 4 - 2; y = rand() * 4 - 2
      label = x + 2 * y > 0 ? "above" : "below"
      colour = rand() < 0.5 ? (label == "above" ? "red" : "blue") : (rand() < 0.5 ? "red" : "blue")
      if (i % 7 == 0) printf "\"%.4f\",%.4f,\"%s\",%s\n", x, y * 10, colour, label
      else printf "%.4f,%.4f,%s,%s\n", x, y * 10, colour, label
    }
  }' > "$work/points.csv"
  "$tabular" --csv "$work/points.csv" --target label --categorical colour --epochs 30 --threads 1 --out "$work/out" \
    --metrics-json "$work/points.json" > "$work/points.log"
  grep -q "400 rows (320 training, 80 test), 4 features, 2 classes (target 'label')" "$work/points.log" ||
    fail "unexpected summary: $(head -1 "$work/points.log")"
  acc=$(accuracy "$work/points.json")
  awk -v a="$acc" 'BEGIN { exit !(a >= 0.9) }' || fail "points.csv: test accuracy $acc < 0.9"

  # The same rows gzip-compressed under a plain name, without the header, the target by index.
  tail -n +2 "$work/points.csv" | gzip -c > "$work/noheader.csv"
  "$tabular" --csv "$work/noheader.csv" --no-header --target 3 --categorical 2 --epochs 30 --threads 1 --out "$work/out" \
    --metrics-json "$work/noheader.json" > /dev/null
  acc=$(accuracy "$work/noheader.json")
  awk -v a="$acc" 'BEGIN { exit !(a >= 0.9) }' || fail "noheader.csv: test accuracy $acc < 0.9"

  # A missing value: refused, naming the file, line and column.
  printf 'a,b,label\n1,2,x\n3,,y\n' > "$work/missing.csv"
  if "$tabular" --csv "$work/missing.csv" --target label --out "$work/out" > "$work/missing.log" 2>&1; then
    fail "a missing value was accepted"
  fi
  grep -q "missing.csv' line 3 (data row 2), column 'b' (index 1): missing value" "$work/missing.log" ||
    fail "the refusal does not name the line and column: $(cat "$work/missing.log")"
  "$tabular" --help | grep -q -- "--skip-rows" || fail "--help lacks --skip-rows"
  echo "tabular smoke test: passed"
  exit 0
fi

[ "$mode" = sklearn ] || fail "unknown mode '$mode' (smoke or sklearn)"
# Where python3-sklearn keeps its data sets: $TAPEGRAD_SKLEARN_DATA, else where
# dpkg says the package put breast_cancer.csv, else where Python finds sklearn.
dir=${TAPEGRAD_SKLEARN_DATA:-}
if [ -z "$dir" ] && command -v dpkg-query > /dev/null; then
  dir=$(dpkg-query -L python3-sklearn 2> /dev/null | grep '/datasets/data/breast_cancer\.csv$' | head -1 | xargs -r dirname)
fi
if [ -z "$dir" ] && command -v python3 > /dev/null; then
  dir=$(python3 -c 'import os, sklearn.datasets as d; print(os.path.join(os.path.dirname(d.__file__), "data"))' 2> /dev/null || true)
fi
if [ -z "$dir" ] || [ ! -f "$dir/breast_cancer.csv" ]; then
  echo "python3-sklearn's CSV files not found (scripts/install-deps.sh installs them): skipped"
  exit 77
fi

check() {  # name file minimum flags...
  local name=$1 file=$2 minimum=$3
  shift 3
  "$tabular" --csv "$dir/$file" "$@" --threads 1 --out "$work/out" --metrics-json "$work/$name.json" > "$work/$name.log"
  local acc
  acc=$(accuracy "$work/$name.json")
  echo "$name: test accuracy $acc (at least $minimum)"
  awk -v a="$acc" -v m="$minimum" 'BEGIN { exit !(a >= m) }' || fail "$name: test accuracy $acc < $minimum"
}
check breast_cancer breast_cancer.csv 0.96 --skip-rows 1 --no-header
check wine wine_data.csv 0.95 --skip-rows 1 --no-header
check digits digits.csv.gz 0.96 --no-header
echo "tabular sklearn accuracies: passed"
