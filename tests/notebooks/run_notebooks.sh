#!/usr/bin/env bash
# Runs small versions of the studies the notebooks read, then executes every
# notebook headless (jupyter nbconvert --execute). A notebook that raises --
# including its own consistency assertions against the binaries' slope
# tables -- fails the test.
set -euo pipefail
build_dir=$1
source_dir=$2
work="$build_dir/notebook-test"
results="$work/results"
rm -rf "$work"
mkdir -p "$results"
tiny=(--n-min 200 --n-max 2000 --n-count 4 --reps 4 --threads 2 --progress false)
for study in softmax-exact topk-exact temperature-vs-activation; do
  "$build_dir/bin/$study" "${tiny[@]}" --out "$results/$study" > "$work/$study.log"
done
if [ -x "$build_dir/bin/load-balance" ]; then
  "$build_dir/bin/load-balance" --quick --out "$results/load-balance" > "$work/load-balance.log"
fi
# Debian's jupyter and its python3 kernel (pandas, matplotlib) come first on
# PATH, ahead of any other python3 (e.g. a pyenv shim without those modules).
export PATH="/usr/bin:$PATH"
export MOELAB_RESULTS="$results"
export MPLBACKEND=Agg
export PYDEVD_DISABLE_FILE_VALIDATION=1
cd "$source_dir/notebooks"
jupyter-nbconvert --to notebook --execute --ExecutePreprocessor.timeout=600 \
  --output-dir "$work/executed" ./*.ipynb
echo "executed notebooks: $(ls "$work/executed")"
