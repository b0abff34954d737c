#!/usr/bin/env bash
# The main job: builds moelab, then runs the quick rate studies of the
# [Demyst] exact-fitted softmax experiment and the [TopK] exact-specified
# top-K experiment (each a couple of minutes at most on 2 cores; together well
# under 10 minutes including the build). Results go to results/<study>/:
#   summary.txt  readable slopes table (measured slope, 95% CI, median slope,
#                theory, verdict)
#   slopes.csv   the same as CSV
#   plots/*.png  log-log loss against n (+ the .gp script and .dat to redraw)
#   <study>/cells.csv  one row per (n, replication) cell; config.json the flags
# A killed run resumes where it stopped when started again (finished cells are
# kept in results/<study>/<study>/cells.log). See docs/rate_studies.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
threads=$(nproc 2>/dev/null || echo 2)
for study in softmax-exact topk-exact; do
  echo "== $study (quick)"
  ./build/bin/"$study" --quick --threads "$threads" --out "results/$study"
done
echo
echo "Slope tables: results/softmax-exact/summary.txt, results/topk-exact/summary.txt"
echo "              (CSV: results/*/slopes.csv)"
echo "Plots:        results/softmax-exact/plots/*.png, results/topk-exact/plots/*.png"
