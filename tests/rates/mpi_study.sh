#!/usr/bin/env bash
# The MPI rate-study runner against the single-process run (ctest
# rates_mpi_vs_single, registered only in a -DMOELAB_WITH_MPI=ON build).
#   1. A small softmax-exact study runs once single-process (1 thread), then
#      under mpirun with 1, 2 and 3 ranks (3 with a dedicated coordinator):
#      cells.csv and slopes.csv must be byte-identical to the single run's.
#   2. A rank that dies mid-study: worker rank 1 _exits after 2 cells
#      (MOELAB_TEST_WORKER_EXIT_AFTER), so the job aborts with the cell it held
#      unreported: no cells.csv, an incomplete cells.log. The same command run
#      again resumes and must end with the single run's cells.csv.
#   3. With a third argument, the runner's GoogleTest
#      (tests/rates/mpi/mpi_cell_runner_mpitest.cpp: synthetic cells, resume,
#      shards, refusal and error propagation on every rank) under 1, 2 and 3 ranks.
# Usage: mpi_study.sh <softmax-exact binary> <work dir> [<rates_mpi_tests binary>]
set -euo pipefail
bin=$1
work=$2
unit=${3:-}
rm -rf "$work"
mkdir -p "$work"
mpirun=(mpirun --oversubscribe)
[ "$(id -u)" -eq 0 ] && mpirun+=(--allow-run-as-root)
study=(--n-list 100,200,400,800 --reps 4 --bootstrap 200 --progress=false)
cells=16

same() {  # same <run dir>: identical deterministic outputs
  cmp "$work/single/softmax-exact/cells.csv" "$1/softmax-exact/cells.csv"
  cmp "$work/single/slopes.csv" "$1/slopes.csv"
}

"$bin" "${study[@]}" --threads 1 --out "$work/single" > /dev/null
"${mpirun[@]}" -np 1 "$bin" "${study[@]}" --out "$work/np1" > /dev/null
same "$work/np1"
"${mpirun[@]}" -np 2 "$bin" "${study[@]}" --out "$work/np2" > /dev/null
same "$work/np2"
"${mpirun[@]}" -np 3 "$bin" "${study[@]}" --coordinator-computes=false --out "$work/np3" > /dev/null
same "$work/np3"
echo "mpirun -np 1, 2, 3: cells.csv and slopes.csv identical to the single-process run"

if "${mpirun[@]}" -np 2 -x MOELAB_TEST_WORKER_EXIT_AFTER=2 "$bin" "${study[@]}" --out "$work/fault" \
     > "$work/fault.out" 2>&1; then
  echo "FAIL: the job whose worker died did not fail"; cat "$work/fault.out"; exit 1
fi
log="$work/fault/softmax-exact/cells.log"
[ ! -e "$work/fault/softmax-exact/cells.csv" ] || { echo "FAIL: aborted job wrote cells.csv"; exit 1; }
rows=$(( $(wc -l < "$log") - 1 ))
if [ "$rows" -lt 1 ] || [ "$rows" -ge "$cells" ]; then
  echo "FAIL: aborted job logged $rows of $cells cells"; exit 1
fi
"${mpirun[@]}" -np 2 "$bin" "${study[@]}" --out "$work/fault" > /dev/null 2> "$work/resume.err"
grep -q "($rows resumed)" "$work/resume.err" || { echo "FAIL: restart did not resume $rows cells"; cat "$work/resume.err"; exit 1; }
same "$work/fault"
echo "worker died after logging; $rows of $cells cells kept; the restart completed the same cells.csv"

if [ -n "$unit" ]; then
  for np in 1 2 3; do
    "${mpirun[@]}" -np "$np" "$unit" > "$work/unit-np$np.out" 2>&1 || { cat "$work/unit-np$np.out"; exit 1; }
  done
  echo "rates_mpi_tests passed under 1, 2 and 3 ranks"
fi
