#!/usr/bin/env bash
# Fuzzes the file readers with libFuzzer (clang, AddressSanitizer + UBSan):
# the IDX reader (fuzz_idx), the checkpoint loader (fuzz_checkpoint), the
# CSV reader (fuzz_csv) and the safetensors reader (fuzz_safetensors).
# Builds fuzz/ with clang into build-fuzz/, writes the seed corpora there, then
# runs each target for SECONDS (default 30). The corpora grow in
# build-fuzz/corpus/<target> across runs; a crashing input is saved as
# build-fuzz/artifacts/<target>-crash-* (rerun it: build-fuzz/<target> FILE).
# Exits non-zero when any target finds a crash, leak, hang or sanitizer report.
#
# Usage: scripts/fuzz.sh [SECONDS]
#        scripts/fuzz.sh --coverage   # line/branch coverage of the readers by the corpora so far
# Extra libFuzzer flags: FUZZ_FLAGS="-runs=1000000" scripts/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)

if ! command -v clang++ >/dev/null 2>&1; then
  echo "fuzz: clang++ not found (apt-get install clang)" >&2
  exit 1
fi

if [ "${1:-}" = --coverage ]; then
  # Replays build-fuzz/corpus and the seeds through targets built for llvm-cov.
  if [ ! -d build-fuzz/corpus ]; then
    echo "fuzz: no corpus yet; run scripts/fuzz.sh first" >&2
    exit 1
  fi
  cmake -S fuzz -B build-fuzz-cov -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DTAPEGRAD_FUZZ_COVERAGE=ON >/dev/null
  cmake --build build-fuzz-cov -j"$(nproc)" --target fuzz_idx fuzz_checkpoint fuzz_csv fuzz_safetensors
  # Each target's report covers the sources it fuzzes.
  declare -A sources=([idx]="data/idx.cpp data/mnist.cpp"
                      [checkpoint]="train/checkpoint_format.cpp train/serialize.cpp optim/optimizer.cpp"
                      [csv]="data/csv.cpp"
                      [safetensors]="io/safetensors.cpp io/safetensors_header.cpp")
  for target in fuzz_idx fuzz_checkpoint fuzz_csv fuzz_safetensors; do
    name=${target#fuzz_}
    rm -f "build-fuzz-cov/$name.profraw"
    LLVM_PROFILE_FILE="build-fuzz-cov/$name.profraw" "build-fuzz-cov/$target" -runs=0 \
      "build-fuzz/corpus/$name" "build-fuzz/seeds/$name" 2>/dev/null
    llvm-profdata merge -sparse "build-fuzz-cov/$name.profraw" -o "build-fuzz-cov/$name.profdata"
    echo "== $target: coverage of $(find "build-fuzz/corpus/$name" -type f | wc -l) corpus files and the seeds"
    # shellcheck disable=SC2086  # the source list is meant to split
    llvm-cov report "build-fuzz-cov/$target" -instr-profile="build-fuzz-cov/$name.profdata" ${sources[$name]}
  done
  echo "fuzz: line by line: llvm-cov show build-fuzz-cov/fuzz_NAME -instr-profile=build-fuzz-cov/NAME.profdata FILE.cpp"
  exit 0
fi
seconds=${1:-30}
cmake -S fuzz -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzz_idx fuzz_checkpoint fuzz_csv fuzz_safetensors make_fuzz_seeds
echo "== fuzz build finished in $(( $(date +%s) - start )) s"

rm -rf build-fuzz/seeds
build-fuzz/make_fuzz_seeds build-fuzz/seeds
mkdir -p build-fuzz/artifacts

# -max_len: the seeds are a few hundred bytes; 4 KiB leaves room to grow while
#   bounding a gzip input's expansion (1032:1) to 4 MiB.
# -rss_limit_mb / -malloc_limit_mb: a reader must check sizes before it
#   allocates; a single allocation above 256 MiB is reported as a bug.
# -timeout: no input may take 10 s.
read -r -a extra_flags <<< "${FUZZ_FLAGS:-}"
status=0
for target in fuzz_idx fuzz_checkpoint fuzz_csv fuzz_safetensors; do
  name=${target#fuzz_}
  mkdir -p "build-fuzz/corpus/$name"
  echo "== $target for ${seconds} s"
  if ! ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
       "build-fuzz/$target" -max_total_time="$seconds" -max_len=4096 -rss_limit_mb=2048 -malloc_limit_mb=256 \
       -timeout=10 -print_final_stats=1 -print_funcs=0 -artifact_prefix="build-fuzz/artifacts/$target-" "${extra_flags[@]}" \
       "build-fuzz/corpus/$name" "build-fuzz/seeds/$name"; then
    echo "fuzz: $target FAILED (see build-fuzz/artifacts/)" >&2
    status=1
  fi
done
echo "== fuzzing finished in $(( $(date +%s) - start )) s"
exit $status
