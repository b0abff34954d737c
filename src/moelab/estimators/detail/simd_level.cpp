#include "moelab/estimators/detail/simd_level.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <stdexcept>

namespace moelab::detail {
namespace {

SimdLevel DetectLevel() {
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
  // (__builtin_cpu_supports also checks that the OS saves the wider registers.)
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma")) {
    return SimdLevel::kAvx512;
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return SimdLevel::kAvx2;
#endif
  return SimdLevel::kPortable;
}

SimdLevel EnvironmentCap() {
  const char* value = std::getenv("MOELAB_SIMD");
  if (value == nullptr || *value == '\0') return SimdLevel::kAvx512;
  return ParseSimdLevel(value);
}

std::atomic<SimdLevel>& Cap() {
  static std::atomic<SimdLevel> cap{SimdLevel::kAvx512};
  return cap;
}

}  // namespace

const char* SimdLevelName(SimdLevel level) {
  switch (level) {
    case SimdLevel::kPortable:
      return "portable";
    case SimdLevel::kAvx2:
      return "avx2";
    case SimdLevel::kAvx512:
      return "avx512";
  }
  return "?";
}

SimdLevel ParseSimdLevel(const std::string& name) {
  for (SimdLevel level : {SimdLevel::kPortable, SimdLevel::kAvx2, SimdLevel::kAvx512}) {
    if (name == SimdLevelName(level)) return level;
  }
  throw std::invalid_argument("MOELAB_SIMD=" + name +
                              ": expected portable, avx2 or avx512 (or unset it)");
}

SimdLevel SupportedSimdLevel() {
  static const SimdLevel level = DetectLevel();
  return level;
}

SimdLevel ActiveSimdLevel() {
  static const SimdLevel environment = EnvironmentCap();
  return std::min({SupportedSimdLevel(), environment, Cap().load(std::memory_order_relaxed)});
}

std::vector<SimdLevel> RunningSimdLevels() {
  std::vector<SimdLevel> levels;
  for (SimdLevel level : {SimdLevel::kPortable, SimdLevel::kAvx2, SimdLevel::kAvx512}) {
    if (SimdLevelRuns(level)) levels.push_back(level);
  }
  return levels;
}

void LimitSimdLevel(SimdLevel cap) { Cap().store(cap, std::memory_order_relaxed); }

}  // namespace moelab::detail
