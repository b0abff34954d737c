// Which copy of the vectorised EM kernels and exp/log runs (private to
// estimators).
//
// The kernels (affine_block_kernel.hpp, vector_math.hpp) are compiled once
// per instruction-set level and the best one the CPU supports is chosen at
// run time, so one x86-64 binary runs everywhere. Each level gives the same
// bits on every machine that runs it, for every thread count; different
// levels agree to round-off, not bit for bit (other lane counts, FMA,
// another exp). The environment variable MOELAB_SIMD = portable | avx2 |
// avx512 caps the level, e.g. to reproduce on an AVX-512 machine the bits
// of an AVX2-only one.
#pragma once

#include <string>
#include <vector>

namespace moelab::detail {

enum class SimdLevel {
  kPortable,  // 2 x 64-bit lanes (SSE2, any x86-64; any CPU elsewhere)
  kAvx2,      // 4 lanes, FMA contraction (AVX2 + FMA)
  kAvx512,    // 8 lanes, FMA, a table-driven exp (AVX-512 F, DQ, VL)
};

const char* SimdLevelName(SimdLevel level);

// The best level this CPU and build support.
SimdLevel SupportedSimdLevel();

// The level the dispatching entry points use: SupportedSimdLevel(), capped
// by MOELAB_SIMD (read once; an unknown value throws std::invalid_argument
// naming the accepted ones) and by LimitSimdLevel.
SimdLevel ActiveSimdLevel();

// The level named `name` (as SimdLevelName gives it); anything else throws
// std::invalid_argument naming MOELAB_SIMD and the accepted names.
SimdLevel ParseSimdLevel(const std::string& name);

// Caps the active level for the whole process from now on (benchmarks time
// the lower levels as in-binary baselines); SupportedSimdLevel() lifts the cap.
void LimitSimdLevel(SimdLevel cap);

// Whether `level` can run here, and all such levels, lowest first (tests
// check every one: on an AVX-512 machine the lower copies are tested too).
inline bool SimdLevelRuns(SimdLevel level) { return level <= SupportedSimdLevel(); }
std::vector<SimdLevel> RunningSimdLevels();

}  // namespace moelab::detail
