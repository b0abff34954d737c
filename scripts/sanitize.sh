#!/usr/bin/env bash
# ASan + UBSan and fuzzing (CI stage after the Release tests): one clang build
# directory (build-sanitize, -DMOELAB_SANITIZE=ON) builds only what runs here:
# the test binaries that run in minutes under the sanitizers - including
# estimators_tests (the EM kernels' raw-pointer scratch; ~100 s) - and the
# four libFuzzer harnesses of tests/fuzz/, each run for FUZZ_SECONDS
# (default 30) on a copy of its committed corpus
# (tests/fuzz/corpus/<harness>/; new finds stay in the copy). A sanitizer report, a crash or a failing test fails the stage;
# a fuzzer's crash input is left in build-sanitize/fuzz-artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
seconds=${FUZZ_SECONDS:-30}
launcher=()
if command -v ccache > /dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR="$PWD"
fi
# -O1 with line tables only: sanitizer reports keep file:line at a lower
# build cost than -O2 -g.
if [ ! -f build-sanitize/CMakeCache.txt ]; then
  CXX=clang++ cmake -S . -B build-sanitize -G Ninja -DCMAKE_BUILD_TYPE=None \
    -DCMAKE_CXX_FLAGS="-O1 -gline-tables-only" \
    -DMOELAB_SANITIZE=ON -DMOELAB_BUILD_BENCHMARKS=OFF -DMOELAB_WITH_MPI=OFF -DMOELAB_BUILD_PYTHON=OFF "${launcher[@]}"
fi
tests=(core_tests io_tests rates_tests estimators_tests experiments_cli_tests)
fuzzers=(csv_fuzzer params_json_fuzzer config_json_fuzzer cells_log_fuzzer)
cmake --build build-sanitize --parallel "$jobs" --target "${tests[@]}" "${fuzzers[@]}"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for t in "${tests[@]}"; do
  echo "== sanitize: $t"
  build-sanitize/tests/"$t" --gtest_brief=1
done

mkdir -p build-sanitize/fuzz-artifacts
for f in "${fuzzers[@]}"; do
  echo "== fuzz: $f for ${seconds} s"
  corpus=build-sanitize/fuzz-corpus/$f
  rm -rf "$corpus" && mkdir -p "$corpus"
  cp tests/fuzz/corpus/"$f"/* "$corpus"/
  build-sanitize/tests/"$f" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=262144 -print_final_stats=1 -artifact_prefix=build-sanitize/fuzz-artifacts/"$f"- \
    "$corpus" 2>&1 | tail -n 12
done
