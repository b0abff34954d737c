#!/usr/bin/env bash
# moelab against R's flexmix on the same simulated data sets, same number of
# starts, one thread each. Not part of CI; rerun it yourself:
#
#   bash scripts/build.sh
#   apt-get install -y --no-install-recommends r-cran-flexmix   # optional
#   nice bash benchmarks/flexmix_compare.sh [--starts 4] [--ks "2 3"] \
#       [--sizes "1000 10000 100000"] [--tolerance 1e-8] [--out flexmix_compare]
#
# Data: softmax gate, d = 1, x ~ U(-1, 1), the truths in
# benchmarks/flexmix_compare/flexmix_compare_moelab.cpp; one CSV per (k, n),
# seed 2026. moelab: FitMoe's EM (build/bin/flexmix_compare_moelab), starts drawn as
# FitMoe draws them (data-driven and random alternating). flexmix:
# flexmix(y ~ x1, k, concomitant = FLXPmultinom(~ x1)) from random starts
# (benchmarks/flexmix_compare/flexmix_starts.R, i.e. stepFlexmix's nrep loop).
# Both fit the same model (multinomial-logit gate, Gaussian linear experts,
# ML variances) and report the same full log-likelihood. Per data set the two
# run back to back, so on a shared machine both see the same load; the table
# gives wall and CPU seconds per start (median over starts) and the ratio.
# Without Rscript or the flexmix package only the moelab side runs. RSCRIPT
# (default Rscript) names the R front end to use.
set -euo pipefail
cd "$(dirname "$0")/.."

starts=4
ks="2 3"
sizes="1000 10000 100000"
tolerance=1e-8
max_iterations=2000
out=flexmix_compare
usage() {
  sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
  echo "flags: --starts S (>= 1)  --ks \"2 3\" (each 2 or 3)  --sizes \"...\" (each >= 10)"
  echo "       --tolerance T (relative, >= 0)  --max-iterations M (>= 1)  --out DIR"
}
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
  esac
  if [ $# -lt 2 ]; then echo "flexmix_compare.sh: flag '$1' needs a value (see --help)" >&2; exit 2; fi
  case "$1" in
    --starts) starts="$2"; shift 2 ;;
    --ks) ks="$2"; shift 2 ;;
    --sizes) sizes="$2"; shift 2 ;;
    --tolerance) tolerance="$2"; shift 2 ;;
    --max-iterations) max_iterations="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "flexmix_compare.sh: unknown flag '$1' (see --help)" >&2; exit 2 ;;
  esac
done

driver=build/bin/flexmix_compare_moelab
if [ ! -x "$driver" ]; then
  echo "flexmix_compare.sh: $driver not found; run 'bash scripts/build.sh' first" >&2
  exit 1
fi
rscript="${RSCRIPT:-Rscript}"
have_flexmix=0
if ! command -v "$rscript" > /dev/null; then
  echo "flexmix_compare.sh: $rscript not found - flexmix side SKIPPED (install it with"
  echo "  apt-get install -y --no-install-recommends r-cran-flexmix)"
elif ! "$rscript" -e 'quit(status = if (requireNamespace("flexmix", quietly = TRUE)) 0 else 1)' \
      > /dev/null 2>&1; then
  echo "flexmix_compare.sh: R package flexmix not installed - flexmix side SKIPPED (install"
  echo "  it with apt-get install -y --no-install-recommends r-cran-flexmix)"
else
  have_flexmix=1
fi
mkdir -p "$out"

# median of column $2 of CSV $1 (header skipped, empty/NA values ignored)
median() {
  awk -F, -v c="$2" 'NR > 1 && $c != "" && $c != "NA" { print $c }' "$1" | sort -g |
    awk '{ v[NR] = $1 } END { if (NR == 0) print "NA";
           else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# highest log-likelihood (column $2) among rows whose column $3 matches regex $4
best() {
  awk -F, -v c="$2" -v s="$3" -v ok="$4" 'NR > 1 && $c != "NA" && $s ~ ok {
      if (!seen || $c + 0 > b) { b = $c + 0; seen = 1 } }
    END { if (seen) printf "%.6f\n", b; else print "NA" }' "$1"
}
# rows of CSV $1 whose column $2 matches regex $3
count() { awk -F, -v c="$2" -v ok="$3" 'NR > 1 && $c ~ ok { m++ } END { print m + 0 }' "$1"; }

rows=()
for k in $ks; do
  for n in $sizes; do
    data="$out/data_k${k}_n${n}.csv"
    "$driver" --simulate "$k" --n "$n" --seed 2026 --out "$data"
    echo "k = $k, n = $n: moelab ($starts starts) ..." >&2
    "$driver" --data "$data" --k "$k" --starts "$starts" --seed 1 --tolerance "$tolerance" \
      --max-iterations "$max_iterations" --out "$out/moelab_k${k}_n${n}.csv"
    m_best=$(best "$out/moelab_k${k}_n${n}.csv" 3 5 '^(converged|max_iterations|stalled)$')
    m_conv=$(count "$out/moelab_k${k}_n${n}.csv" 5 '^converged$')
    m_wall=$(median "$out/moelab_k${k}_n${n}.csv" 6)
    m_cpu=$(median "$out/moelab_k${k}_n${n}.csv" 7)
    f_best=NA f_conv=- f_wall=NA f_cpu=NA
    if [ "$have_flexmix" = 1 ]; then
      echo "k = $k, n = $n: flexmix ($starts starts) ..." >&2
      "$rscript" benchmarks/flexmix_compare/flexmix_starts.R "$data" "$k" "$starts" "$tolerance" \
        "$max_iterations" 1 "$out/flexmix_k${k}_n${n}.csv"
      f_best=$(best "$out/flexmix_k${k}_n${n}.csv" 2 4 '^TRUE$')
      f_conv=$(count "$out/flexmix_k${k}_n${n}.csv" 4 '^TRUE$')
      f_wall=$(median "$out/flexmix_k${k}_n${n}.csv" 6)
      f_cpu=$(median "$out/flexmix_k${k}_n${n}.csv" 7)
    fi
    rows+=("$k $n $m_best $f_best $m_conv $f_conv $m_wall $f_wall $m_cpu $f_cpu")
  done
done

echo
echo "moelab vs flexmix: $starts starts per data set, one thread, medians per start"
echo "moelab: FitMoe's EM (SQUAREM-accelerated generalised EM) stops when the relative change over a SQUAREM cycle (up to 3 EM maps) <= $tolerance (max $max_iterations EM maps)"
if [ "$have_flexmix" = 1 ]; then
  echo "flexmix $("$rscript" -e 'cat(format(packageVersion("flexmix")))' 2>/dev/null):" \
       "stops when |l_t - l_{t-1}| / (|l_t| + 0.1) < $tolerance (iter.max $max_iterations, minprior 0)"
else
  echo "flexmix: SKIPPED (Rscript or the flexmix package is missing)"
fi
echo "best log-likelihood over starts (converged/usable ones); gap = (moelab - flexmix) / |flexmix|;"
echo "target: gap >= -1e-6. Times: seconds per start, wall / CPU; ratio = flexmix / moelab."
echo
printf '| k | n | moelab best log-lik | flexmix best log-lik | rel. gap | target | converged (m/f) | moelab s/start wall / CPU | flexmix s/start wall / CPU | ratio wall / CPU |\n'
printf '|---|---|---|---|---|---|---|---|---|---|\n'
for row in "${rows[@]}"; do
  # shellcheck disable=SC2086
  set -- $row
  awk -v k="$1" -v n="$2" -v mb="$3" -v fb="$4" -v mc="$5" -v fc="$6" -v mw="$7" -v fw="$8" \
      -v mu="$9" -v fu="${10}" -v s="$starts" 'BEGIN {
    gap = "-"; ok = "-"; ratio = "-"
    if (mb != "NA" && fb != "NA") {
      g = (mb - fb) / (fb < 0 ? -fb : fb); gap = sprintf("%+.1e", g)
      ok = (g >= -1e-6) ? "met" : "MISSED"
    }
    if (fw != "NA" && mw > 0 && mu > 0) ratio = sprintf("%.0fx / %.0fx", fw / mw, fu / mu)
    printf "| %d | %d | %s | %s | %s | %s | %s/%d, %s/%d | %.4f / %.4f | %s | %s |\n", k, n, mb,
      fb, gap, ok, mc, s, fc, s, mw, mu,
      (fw == "NA" ? "-" : sprintf("%.3f / %.3f", fw, fu)), ratio }'
done
echo
if [ "$have_flexmix" = 1 ]; then
  echo "per-start rows: $out/moelab_k*_n*.csv, $out/flexmix_k*_n*.csv"
else
  echo "per-start rows: $out/moelab_k*_n*.csv"
fi
