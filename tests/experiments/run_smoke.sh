#!/usr/bin/env bash
# Smoke test of the experiment binaries: every binary answers --help with a
# usage text and exit 0 and rejects an unknown flag with exit 2; the real-data
# example runs on the shipped tone data and prints its model-selection table,
# with the temperature gate at tau = 1 reproducing the softmax fit exactly,
# also from another working directory and on a file too small for k >= 2
# (skipped rows, the rest still written); moelab-fit fits a CSV with named
# columns and missing values and writes every output it promises;
# a rate study without gnuplot on PATH still finishes and writes its tables,
# and its summary says why the plots are missing.
set -euo pipefail
build_dir=$1
source_dir=$2
status=0
for binary in "$build_dir"/bin/*; do
  name=$(basename "$binary")
  case "$name" in *_benchmark) continue ;; esac
  # Captured first: grep -q stops reading at the match, and a help text longer
  # than one pipe write would then die of SIGPIPE (exit 141 under pipefail).
  help=$("$binary" --help)
  if ! grep -q "^Usage: " <<< "$help"; then
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
# tone-data from another directory (finds the shipped data), and partial
# results when n cannot support a k.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && "$build_dir/bin/tone-data" --k-max 1 --starts 2 --gates softmax > tone.txt) ||
  { echo "FAIL: tone-data does not run outside the repository"; status=1; }
head -6 "$source_dir/data/tonedata/tonedata.csv" > "$work/five.csv"
"$build_dir/bin/tone-data" --data "$work/five.csv" --k-max 3 --gates softmax --starts 2 \
  --out "$work/tone5" > "$work/tone5.txt" ||
  { echo "FAIL: tone-data on 5 rows exited non-zero"; status=1; }
grep -q "softmax,3,0,skipped,.*n = 5 < 13 free parameters" "$work/tone5/model_selection.csv" ||
  { echo "FAIL: tone-data did not record the skipped k = 3"; status=1; }
grep -q "softmax,1,0,fitted," "$work/tone5/model_selection.csv" ||
  { echo "FAIL: tone-data lost the k = 1 row"; status=1; }

# moelab-fit on named columns with R-style quotes and NAs, plus predictions.
{
  echo '"","stretch","tuned"'
  tail -n +2 "$source_dir/data/tonedata/tonedata.csv" | awk -F, '{
    x = $1; y = $2; if (NR == 4) x = "NA"; if (NR == 9) y = "";
    printf "\"%d\",%s,%s\n", NR, x, y }'
} > "$work/my.csv"
printf 'stretch\n1.5\n2.5\n' > "$work/new.csv"
fit_out=$("$build_dir/bin/moelab-fit" --data "$work/my.csv" --y tuned --k 1:3 --starts 4 \
  --predict "$work/new.csv" --out "$work/fit")
echo "$fit_out" | tail -n 30
echo "$fit_out" | grep -q "2 dropped for a missing value" || { echo "FAIL: NA rows not counted"; status=1; }
echo "$fit_out" | grep -q "Std. Error" || { echo "FAIL: no standard errors in the summary"; status=1; }
for f in config.json model_selection.csv params.json posteriors.csv predictions.csv \
         standard_errors.csv summary.txt fit_data.gp fit_gate.gp; do
  [ -s "$work/fit/$f" ] || { echo "FAIL: moelab-fit did not write $f"; status=1; }
done
[ "$(wc -l < "$work/fit/posteriors.csv")" -eq 149 ] || { echo "FAIL: posteriors.csv should have 148 rows"; status=1; }
[ "$(wc -l < "$work/fit/predictions.csv")" -eq 3 ] || { echo "FAIL: predictions.csv should have 2 rows"; status=1; }
set +e
"$build_dir/bin/moelab-fit" --data "$work/my.csv" --y tuned --na error --out "$work/e" > /dev/null 2> "$work/err.txt"
rc=$?
set -e
[ "$rc" -eq 2 ] && grep -q "my.csv:5, column 'stretch': missing value" "$work/err.txt" ||
  { echo "FAIL: --na error did not refuse the file naming line and column (rc $rc)"; cat "$work/err.txt"; status=1; }
# --k: a list is fitted as given, a reversed range or k = 0 is refused.
"$build_dir/bin/moelab-fit" --data "$work/my.csv" --k 1,3 --starts 2 --se none --plot false \
  --out "$work/list" > /dev/null
[ "$(cut -d, -f2 "$work/list/model_selection.csv" | tail -n +2 | tr '\n' ' ')" = "1 3 " ] ||
  { echo "FAIL: --k 1,3 did not fit exactly k = 1 and 3"; status=1; }
for bad in 3:1 0 1:99 a; do
  set +e
  "$build_dir/bin/moelab-fit" --data "$work/my.csv" --k "$bad" --out "$work/bad" > /dev/null 2>&1
  rc=$?
  set -e
  [ "$rc" -eq 2 ] || { echo "FAIL: --k $bad exited $rc, expected 2"; status=1; }
done

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
