#!/usr/bin/env bash
# Installs the Debian 12 packages moelab needs. Idempotent: when every package
# is already installed it changes nothing and downloads nothing.
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config
  libeigen3-dev libboost-math-dev libboost-random-dev libboost-iostreams-dev libboost-filesystem-dev
  libnlopt-cxx-dev libceres-dev libgnuplot-iostream-dev gnuplot-nox
  libgtest-dev libbenchmark-dev nlohmann-json3-dev
  libopenmpi-dev openmpi-bin  # optional MPI rate-study runner (docs/scale_out.md)
  clang  # ASan/UBSan tests and libFuzzer harnesses (scripts/sanitize.sh)
  # Python module (python/: pybind11 extension, scikit-learn estimator, pytest suite)
  pybind11-dev python3-pybind11 python3-dev python3-numpy python3-pytest python3-sklearn
  # notebooks (executed headless by the test suite)
  jupyter-nbconvert python3-nbconvert python3-nbclient python3-ipykernel python3-pandas python3-matplotlib
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install_deps: all ${#packages[@]} packages already installed"
  exit 0
fi
echo "install_deps: installing ${missing[*]}"
sudo_cmd=""
[ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
$sudo_cmd apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
