#!/usr/bin/env bash
# ctest entry of the Python tests: runs pytest on python/tests against the
# module in the build tree (<build>/python on PYTHONPATH).
#
# pytest exits 5 when it collected no test (a renamed folder, a broken
# conftest, a filter that matches nothing). Every test here is meant to run,
# so "no tests" is a failure with its own message, never a silent pass; the
# other codes pass through (0 passed, 1 failures, 2-4 usage/internal errors).
set -uo pipefail
python=$1
build_dir=$2
source_dir=$3
export PYTHONPATH="$build_dir/python${PYTHONPATH:+:$PYTHONPATH}"
export MOELAB_BUILD_DIR="$build_dir" MOELAB_SOURCE_DIR="$source_dir"
export MPLBACKEND=Agg
if ! "$python" -c "import moelab" ; then
  echo "run_pytest: cannot import moelab from $build_dir/python (is the target moelab_python built?)" >&2
  exit 1
fi
"$python" -m pytest -p no:cacheprovider -q -ra "$source_dir/python/tests"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "run_pytest: pytest collected no tests in $source_dir/python/tests: failing instead of passing silently" >&2
  exit 1
fi
exit "$rc"
