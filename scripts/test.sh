#!/usr/bin/env bash
# Builds moelab and runs the whole test suite (ctest).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
jobs=$(nproc 2>/dev/null || echo 2)
ctest --test-dir build --output-on-failure --parallel "$jobs" --timeout 900
# The fast tests under ASan + UBSan and 30 s of each fuzzer (clang build).
bash scripts/sanitize.sh
