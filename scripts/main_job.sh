#!/usr/bin/env bash
# The main job: builds moelab and runs the demo. (Until the rate-study binaries
# land this simulates each preset and prints a summary.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
./build/bin/simulate --preset all --n 2000 --seed 2023 --out results/simulate
