#!/usr/bin/env bash
# --shard and --merge through a study binary (ctest rates_shard_merge_cli):
# a small softmax-exact study run single-process, then as 3 shards reusing
# the single run's config.json, merged with a shard's config.json (its shard
# key is ignored by --merge): cells.csv and slopes.csv must be byte-identical
# to the single run's. A merge with a shard missing must fail naming it, and
# a shard folder must refuse to run another shard.
# Usage: shard_merge_study.sh <softmax-exact binary> <work dir>
set -euo pipefail
bin=$1
work=$2
rm -rf "$work"
mkdir -p "$work"
"$bin" --n-list 100,200,400 --reps 3 --bootstrap 200 --threads 2 --progress=false \
  --out "$work/single" > /dev/null
for i in 0 1 2; do
  "$bin" --config "$work/single/config.json" --shard "$i/3" --out "$work/s$i" > /dev/null
  [ ! -e "$work/s$i/softmax-exact/cells.csv" ] || { echo "FAIL: shard $i wrote cells.csv"; exit 1; }
done
if "$bin" --config "$work/single/config.json" --merge "$work/s0,$work/s2" --out "$work/bad" 2> "$work/bad.err"; then
  echo "FAIL: merge with a missing shard succeeded"; exit 1
fi
grep -q "no folder for shard 1/3" "$work/bad.err" || { cat "$work/bad.err"; exit 1; }
if "$bin" --config "$work/single/config.json" --shard 1/3 --out "$work/s0" 2> "$work/other.err"; then
  echo "FAIL: a shard folder ran another shard"; exit 1
fi
grep -q "holds shard 0/3 of this study, not shard 1/3" "$work/other.err" || { cat "$work/other.err"; exit 1; }
"$bin" --config "$work/s1/config.json" --merge "$work/s2,$work/s0,$work/s1" --out "$work/merged" > /dev/null
cmp "$work/single/softmax-exact/cells.csv" "$work/merged/softmax-exact/cells.csv"
cmp "$work/single/slopes.csv" "$work/merged/slopes.csv"
echo "3 shards merged: cells.csv and slopes.csv identical to the single run"
