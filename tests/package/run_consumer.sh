#!/usr/bin/env bash
# Installs moelab from the build tree into a private prefix, builds the
# consumer project against it with find_package(moelab), runs it, and checks
# its output. Proves the installed package (headers, library, config files)
# is usable from a user's own CMake project.
set -euo pipefail
build_dir=$1
source_dir=$2
prefix="$build_dir/package-test/install"
consumer_build="$build_dir/package-test/consumer"
rm -rf "$prefix"
cmake --install "$build_dir" --prefix "$prefix" > /dev/null
cmake -S "$source_dir/tests/package/consumer" -B "$consumer_build" -G Ninja \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" > /dev/null
cmake --build "$consumer_build" > /dev/null
output=$("$consumer_build/moelab_consumer")
echo "$output"
# The consumer prints "loss <value>" and "status ok" when the fit is usable.
echo "$output" | grep -q '^status ok$'
# The installed binaries run from any directory; tone-data finds the
# installed copy of its data under <prefix>/share/moelab.
if [ -x "$prefix/bin/tone-data" ]; then
  tone=$(cd "$build_dir/package-test" && "$prefix/bin/tone-data" --k-max 1 --starts 2 --gates softmax)
  echo "$tone" | head -1
  echo "$tone" | head -1 | grep -q "share/moelab/data/tonedata/tonedata.csv"
  "$prefix/bin/moelab-fit" --help | grep -q "^Usage: moelab-fit"
fi
# The README's quick-start shows this very program.
python3 - "$source_dir" <<'PY'
import sys
root = sys.argv[1]
example = open(f"{root}/tests/package/consumer/main.cpp").read()
readme = open(f"{root}/README.md").read()
if "```cpp\n" + example + "```" not in readme:
    sys.exit("README.md's quick-start differs from tests/package/consumer/main.cpp")
PY
