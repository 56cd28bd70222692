#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, runs every test;
# then builds the suite again with AddressSanitizer + UndefinedBehaviorSanitizer
# (LeakSanitizer included) and runs it there too, runs the threads suite under
# ThreadSanitizer, and fuzzes the file readers briefly with libFuzzer. Any
# finding fails.
#
#   TAPEGRAD_SANITIZERS=0 scripts/test.sh   # skip the sanitizer stages (local iterations)
#   TAPEGRAD_FUZZ_SECONDS=0 scripts/test.sh  # skip the short fuzzing pass (default 20 s per reader)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/data-env.sh
start=$(date +%s)
jobs=$(nproc)

scripts/build.sh
echo "== build finished in $(( $(date +%s) - start )) s"
(cd build && ctest --output-on-failure -j"$jobs")
echo "== tests finished in $(( $(date +%s) - start )) s"

if [ "${TAPEGRAD_SANITIZERS:-1}" != 0 ]; then
  # -O1 keeps the sanitized suite fast enough; -g gives readable reports.
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" \
        -DTAPEGRAD_SANITIZE=ON -DTAPEGRAD_BUILD_TESTS=ON -DTAPEGRAD_BUILD_EXAMPLES=ON >/dev/null
  cmake --build build-asan -j"$jobs"
  # detect_stack_use_after_return is left off: with GCC 12 it crashes inside
  # large Catch2 test frames (a fake-stack fault at a null-page address, not a
  # finding in our code).
  # MPI and the consumer builds run foreign code (OpenMPI, a nested CMake build): not sanitized here.
  (cd build-asan &&
   ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
   UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
   ctest --output-on-failure -j"$jobs" -E "^(consumer_|distributed_)")
  echo "== sanitizer stage finished in $(( $(date +%s) - start )) s"

  # ThreadSanitizer excludes ASan, so it gets a build of its own: the library and
  # the threads suite only (tests/test_threads.cpp), which keeps it inside CI's time.
  cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" \
        -DTAPEGRAD_SANITIZE_THREAD=ON -DTAPEGRAD_BUILD_TESTS=ON -DTAPEGRAD_BUILD_EXAMPLES=OFF >/dev/null
  cmake --build build-tsan -j"$jobs" --target tapegrad_thread_tests
  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 build-tsan/tests/tapegrad_thread_tests
  echo "== thread sanitizer stage finished in $(( $(date +%s) - start )) s"
fi
# A short fuzzing pass over the file readers (scripts/fuzz.sh; longer runs by hand).
if [ "${TAPEGRAD_FUZZ_SECONDS:-20}" != 0 ]; then
  scripts/fuzz.sh "${TAPEGRAD_FUZZ_SECONDS:-20}"
  echo "== fuzzing stage finished in $(( $(date +%s) - start )) s"
fi
echo "== build + tests finished in $(( $(date +%s) - start )) s"
