#!/usr/bin/env bash
# Configures (once) and builds moelab in ./build (Release). Incremental.
# When MPI is installed (mpicxx and mpirun on PATH; scripts/install_deps.sh
# installs Open MPI) the same build directory is configured with
# -DMOELAB_WITH_MPI=ON: the study binaries then also run under mpirun and
# ctest runs the MPI comparison test (docs/scale_out.md). One build directory
# instead of a second MPI one keeps CI from compiling the library twice;
# the option only adds the small moelab_mpi library. Force either way with
# MOELAB_WITH_MPI=ON|OFF in the environment. MOELAB_WERROR=ON in the
# environment makes every compiler warning an error (scripts/test.sh, i.e. CI,
# sets it); unset, an existing build keeps its setting (so the main job after
# the tests does not recompile everything) and a new one gets the default OFF.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
if [ -z "${MOELAB_WITH_MPI:-}" ]; then
  if command -v mpicxx > /dev/null && command -v mpirun > /dev/null; then
    MOELAB_WITH_MPI=ON
  else
    MOELAB_WITH_MPI=OFF
  fi
fi
# ccache, when installed, makes rebuilds in other clones and worktrees of the
# repository cheap (paths below the repository root are hashed relative).
werror_args=()
werror_pattern="^MOELAB_WERROR:BOOL="
if [ -n "${MOELAB_WERROR:-}" ]; then
  werror_args=(-DMOELAB_WERROR="$MOELAB_WERROR")
  werror_pattern="^MOELAB_WERROR:BOOL=$MOELAB_WERROR$"
fi
launcher=()
if command -v ccache > /dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR="$PWD"
fi
if [ ! -f build/CMakeCache.txt ] || ! grep -q "^MOELAB_WITH_MPI:BOOL=$MOELAB_WITH_MPI$" build/CMakeCache.txt ||
   ! grep -q "$werror_pattern" build/CMakeCache.txt; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DMOELAB_WITH_MPI="$MOELAB_WITH_MPI" \
    "${werror_args[@]}" "${launcher[@]}"
fi
cmake --build build --parallel "$jobs"
