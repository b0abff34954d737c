#!/usr/bin/env bash
# Issue 14 reproductions through the binaries: each must now end with a clear
# error (exit 2, the message named below) or the right result, never a crash
# (exit 139), a silent truncation or a folder that blocks the corrected run.
set -uo pipefail
bin=$1/bin
work=$(mktemp -d /tmp/moelab_hardening.XXXXXX)
trap 'rm -rf "$work"' EXIT
status=0
fail() { echo "FAIL: $*"; status=1; }

# expect RC PATTERN CMD...: exit code RC and PATTERN in stdout+stderr.
expect() {
  local rc=$1 pattern=$2
  shift 2
  local out got
  out=$("$@" 2>&1)
  got=$?
  if [ "$got" -ne "$rc" ]; then fail "$* exited $got, expected $rc: $out"; return; fi
  echo "$out" | grep -q -- "$pattern" || fail "$*: no '$pattern' in: $out"
}

small=(--n-list 100,200,400 --reps 2 --bootstrap 20 --progress=false)

# 1. A config nested 100,000 deep crashed every binary (SIGSEGV).
python3 -c "print('{\"k-max\": ' + '['*100000 + ']'*100000 + '}')" > "$work/d.json"
expect 2 "nested deeper" "$bin/tone-data" --config "$work/d.json"
expect 2 "nested deeper" "$bin/softmax-exact" --config "$work/d.json" --out "$work/unused"
printf '{"reps": 2, "reps": 3}' > "$work/dup.json"
expect 2 "duplicate key 'reps'" "$bin/softmax-exact" --config "$work/dup.json" --out "$work/unused"

# 3. Studies overwrote each other; two concurrent runs both computed everything.
expect 0 "files:" "$bin/softmax-exact" "${small[@]}" --out "$work/s2"
expect 2 "owner.txt line 1" "$bin/softmax-over" "${small[@]}" --out "$work/s2"
expect 0 "files:" "$bin/softmax-exact" "${small[@]}" --out "$work/s2"  # the owner resumes
flock "$work/s2/.lock" "$bin/softmax-exact" "${small[@]}" --out "$work/s2" > "$work/locked.txt" 2>&1
[ $? -eq 2 ] && grep -q "in use by another run" "$work/locked.txt" || fail "a concurrent run was not refused: $(cat "$work/locked.txt")"

# 4. Silent truncation of --reps / --starts.
expect 2 "'4294967297' is out of range" "$bin/softmax-exact" --reps 4294967297 --out "$work/unused"
expect 2 "'2147483648' is out of range" "$bin/softmax-exact" --starts 2147483648 --out "$work/unused"

# 6. Sizes: refused up front, and no folder left that refuses the corrected run.
expect 2 "lower --n" "$bin/simulate" --n 1000000000
expect 2 "lower --n-max" "$bin/softmax-exact" --n-max 1e12 --out "$work/big"
[ -e "$work/big" ] && fail "softmax-exact --n-max 1e12 left a folder"
expect 0 "files:" "$bin/softmax-exact" "${small[@]}" --out "$work/big"
expect 2 "lower --steps" "$bin/load-balance" --steps 1000000000000 --out "$work/lb"
[ -e "$work/lb" ] && fail "load-balance --steps 1e12 left a folder"

# 7. Lax parsing.
expect 2 "value 'abc' after '@' is not a finite number" "$bin/load-balance" --policies alf-const@abc --quick --out "$work/lb2"
expect 2 "is a directory" "$bin/tone-data" --data "$work"
expect 2 "out of range" "$bin/softmax-exact" --tolerance 1e400 --out "$work/unused"
expect 2 "out of range (accepted: 0..10000)" "$bin/softmax-exact" --k -2 --out "$work/unused"
expect 2 "the list is empty" "$bin/tone-data" --gates ""
expect 2 "leaves 0 of the 3 sample sizes" "$bin/softmax-exact" "${small[@]}" --trim 100 --out "$work/unused"
printf '\xef\xbb\xbfx1,y\n1,1.2\n2,2.1\n3,2.9\n4,4.2\n5,4.8\n6,6.1\n7,7.2\n8,7.9\n' > "$work/bom.csv"
expect 0 "selected number of experts" "$bin/tone-data" --data "$work/bom.csv" --gates softmax --k-max 1 --starts 2

# 2. Units of y: the k = 1 fit (a linear regression, one optimum) must move
#    by exactly n log c, and k = 2 must still improve on k = 1 at y * 1e-6
#    (before: the same log-likelihood for every k).
#    (Run from the source directory, where tone-data finds its default data.)
awk -F, 'NR == 1 {print; next} {printf "%s,%.17g\n", $1, $2 * 1e-6}' data/tonedata/tonedata.csv > "$work/tone_small.csv"
original=$("$bin/tone-data" --gates softmax --k-max 2 --starts 4 2>&1)
scaled=$("$bin/tone-data" --data "$work/tone_small.csv" --gates softmax --k-max 2 --starts 4 2>&1)
n=$(echo "$original" | sed -n 's/.*n = \([0-9]*\),.*/\1/p')
ll1=$(echo "$original" | awk '$1 == "softmax" && $2 == 1 {print $4}')
ll1s=$(echo "$scaled" | awk '$1 == "softmax" && $2 == 1 {print $4}')
ll2s=$(echo "$scaled" | awk '$1 == "softmax" && $2 == 2 {print $4}')
awk -v a="$ll1s" -v b="$ll1" -v n="$n" 'BEGIN { e = b - n * log(1e-6); exit !((a - e) < 1e-3 && (e - a) < 1e-3) }' ||
  fail "k = 1 log-likelihood at y * 1e-6 is $ll1s, expected $ll1 - $n log(1e-6)"
awk -v a="$ll2s" -v b="$ll1s" 'BEGIN { exit !(a > b + 1) }' || fail "k = 2 ($ll2s) does not improve on k = 1 ($ll1s) at y * 1e-6"
# 8. A full disk (a 24 kB tmpfs, when this user may mount one): the failed
#    write is reported, and the folder, moved to a disk with room, resumes to
#    the clean run's cells.csv.
full=(--n-list 100,200,400 --reps 8 --bootstrap 20 --progress=false --threads 2)
mkdir -p "$work/tiny"
if mount -t tmpfs -o size=24k tmpfs "$work/tiny" 2> /dev/null; then
  "$bin/softmax-exact" "${full[@]}" --out "$work/tiny/s" > "$work/full.txt" 2>&1
  rc=$?
  cp -r "$work/tiny/s" "$work/full_resumed"
  umount "$work/tiny"
  [ $rc -ne 0 ] && grep -q "No space left on device\|disk full" "$work/full.txt" ||
    fail "a full disk was not reported (exit $rc): $(cat "$work/full.txt")"
  expect 0 "files:" "$bin/softmax-exact" "${full[@]}" --out "$work/full_resumed"
  expect 0 "files:" "$bin/softmax-exact" "${full[@]}" --out "$work/full_clean"
  cmp -s "$work/full_resumed/softmax-exact/cells.csv" "$work/full_clean/softmax-exact/cells.csv" ||
    fail "the study resumed after a full disk differs from the clean run"
else
  echo "skip: cannot mount a tmpfs here (the RLIMIT_FSIZE test in rates_tests covers failed writes)"
fi

# MOELAB_SIMD (the kernels' SIMD level cap): an unknown value is an error
# before any work (no study folder); a known one runs.
expect 2 "MOELAB_SIMD=sse4: expected portable, avx2 or avx512" \
  env MOELAB_SIMD=sse4 "$bin/softmax-exact" "${small[@]}" --out "$work/simd_bad"
[ -e "$work/simd_bad" ] && fail "MOELAB_SIMD=sse4 left a study folder"
expect 0 "files:" env MOELAB_SIMD=portable "$bin/softmax-exact" "${small[@]}" --out "$work/simd_portable"
exit $status
