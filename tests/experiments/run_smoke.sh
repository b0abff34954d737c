#!/usr/bin/env bash
# Smoke test of the experiment binaries: every binary answers --help with a
# usage text and exit 0 and rejects an unknown flag with exit 2; the real-data
# example runs on the shipped tone data and prints its model-selection table,
# with the temperature gate at tau = 1 reproducing the softmax fit exactly;
# a rate study without gnuplot on PATH still finishes and writes its tables,
# and its summary says why the plots are missing.
set -euo pipefail
build_dir=$1
source_dir=$2
status=0
for binary in "$build_dir"/bin/*; do
  name=$(basename "$binary")
  case "$name" in *_benchmark) continue ;; esac
  if ! "$binary" --help | grep -q "^Usage: "; then
    echo "FAIL: $name --help prints no usage"; status=1
  fi
  set +e
  "$binary" --no-such-flag > /dev/null 2>&1
  rc=$?
  set -e
  if [ "$rc" -ne 2 ]; then echo "FAIL: $name --no-such-flag exited $rc, expected 2"; status=1; fi
done
cd "$source_dir"
out=$("$build_dir/bin/tone-data" --k-max 2 --starts 6 --gates softmax,temperature)
echo "$out"
echo "$out" | grep -q "selected number of experts" || { echo "FAIL: no selection table"; status=1; }
softmax_k2=$(echo "$out" | awk '$1 == "softmax" && $2 == 2 {print $4}')
temperature_k2=$(echo "$out" | awk '$1 == "temperature" && $2 == 2 {print $4}')
softmax_k1=$(echo "$out" | awk '$1 == "softmax" && $2 == 1 {print $4}')
[ -n "$softmax_k2" ] && [ "$softmax_k2" = "$temperature_k2" ] || { echo "FAIL: temperature (tau=1) $temperature_k2 != softmax $softmax_k2"; status=1; }
awk -v a="$softmax_k2" -v b="$softmax_k1" 'BEGIN { exit !(a > b) }' || { echo "FAIL: k=2 log-likelihood $softmax_k2 not above k=1 $softmax_k1"; status=1; }

# No gnuplot: the study exits 0 with slopes.csv and summary.txt written, and
# the summary names the reason (a pipe to a missing gnuplot used to be able to
# kill the process with SIGPIPE before the tables were written).
nognuplot=$(mktemp -d)
set +e
PATH="$nognuplot" "$build_dir/bin/softmax-exact" --n-min 200 --n-max 800 --n-count 3 --reps 3 \
  --threads 1 --progress false --bootstrap 50 --out "$nognuplot/out" > "$nognuplot/log" 2>&1
rc=$?
set -e
[ "$rc" -eq 0 ] || { echo "FAIL: softmax-exact without gnuplot exited $rc"; cat "$nognuplot/log"; status=1; }
[ -s "$nognuplot/out/slopes.csv" ] || { echo "FAIL: no slopes.csv without gnuplot"; status=1; }
grep -q "not drawn: gnuplot not found" "$nognuplot/out/summary.txt" ||
  { echo "FAIL: summary.txt does not say why the plots are missing"; status=1; }
rm -rf "$nognuplot"
exit $status
