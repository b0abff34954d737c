#!/usr/bin/env bash
# Builds moelab with warnings as errors and runs the whole test suite (ctest).
# CI (.ci/run) runs this, so a change that adds a compiler warning fails CI.
set -euo pipefail
cd "$(dirname "$0")/.."
MOELAB_WERROR=ON bash scripts/build.sh
jobs=$(nproc 2>/dev/null || echo 2)
ctest --test-dir build --output-on-failure --parallel "$jobs" --timeout 900
# The fast tests under ASan + UBSan and 30 s of each fuzzer (clang build).
bash scripts/sanitize.sh
