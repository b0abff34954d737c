// Which copy of the vectorised EM kernels and exp/log runs (private to
// estimators).
//
// The kernels (affine_block_kernel.hpp, vector_math.hpp) are compiled once
// per instruction-set level and the best one the CPU supports is chosen at
// run time, so one x86-64 binary runs on any x86-64. Each level gives the
// same bits on every x86-64 machine that runs it, for every thread count;
// different levels agree to round-off, not bit for bit (other lane counts,
// FMA, another exp). The environment variable MOELAB_SIMD = portable | avx2
// | avx512 caps the level, e.g. to reproduce on an AVX-512 machine the bits
// of an AVX2-only one.
#pragma once

#include <string>
#include <vector>

// The target attributes of the x86 copies: the features DetectLevel checks
// for each level, and nothing else.
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#define MOELAB_SIMD_X86 1
#define MOELAB_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define MOELAB_TARGET_AVX512 __attribute__((target("avx512f,avx512dq,avx512vl,avx2,fma")))
#endif

namespace moelab::detail {

enum class SimdLevel {
  kPortable,  // the baseline target (SSE2 on x86-64): exp/log 2 lanes, the EM kernels 4
  kAvx2,      // 4 lanes, FMA contraction (AVX2 + FMA)
  kAvx512,    // 8 lanes, FMA, a table-driven exp (AVX-512 F, DQ, VL with AVX2 + FMA)
};

const char* SimdLevelName(SimdLevel level);

// The level named `name` (as SimdLevelName gives it); anything else throws
// std::invalid_argument naming MOELAB_SIMD and the accepted names.
SimdLevel ParseSimdLevel(const std::string& name);

// The best level this CPU and build support.
SimdLevel SupportedSimdLevel();

// The level the dispatching entry points use: SupportedSimdLevel(), capped
// by MOELAB_SIMD (read once) and by LimitSimdLevel. Never throws (it runs
// on worker threads): an unknown MOELAB_SIMD is reported once on stderr and
// ignored; CheckSimdEnvironment makes it an error.
SimdLevel ActiveSimdLevel();

// Throws std::invalid_argument when MOELAB_SIMD is set to an unknown value:
// the experiment binaries (cli::RunMain) and the Python import call it
// before any work.
void CheckSimdEnvironment();

// Caps the active level for the whole process from now on and returns the
// previous cap. Not while fits run (their blocks would mix levels): tests
// and benchmarks set it between fits, through ScopedSimdLevelCap.
SimdLevel LimitSimdLevel(SimdLevel cap);

class ScopedSimdLevelCap {
 public:
  explicit ScopedSimdLevelCap(SimdLevel cap) : previous_(LimitSimdLevel(cap)) {}
  ~ScopedSimdLevelCap() { LimitSimdLevel(previous_); }
  ScopedSimdLevelCap(const ScopedSimdLevelCap&) = delete;
  ScopedSimdLevelCap& operator=(const ScopedSimdLevelCap&) = delete;

 private:
  SimdLevel previous_;
};

// Whether `level` can run here, and all such levels, lowest first (tests
// check every one: on an AVX-512 machine the lower copies are tested too).
inline bool SimdLevelRuns(SimdLevel level) { return level <= SupportedSimdLevel(); }
std::vector<SimdLevel> RunningSimdLevels();

// `level`, lowered to what runs here: the explicit-level entry points never
// run an instruction the CPU lacks.
inline SimdLevel RunnableSimdLevel(SimdLevel level) {
  return SimdLevelRuns(level) ? level : SupportedSimdLevel();
}

}  // namespace moelab::detail
