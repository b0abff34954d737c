#include "moelab/estimators/detail/simd_level.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <stdexcept>

namespace moelab::detail {
namespace {

constexpr SimdLevel kAllLevels[] = {SimdLevel::kPortable, SimdLevel::kAvx2, SimdLevel::kAvx512};

SimdLevel DetectLevel() {
#if defined(MOELAB_SIMD_X86)
  // (Safe before libgcc's constructors have run; __builtin_cpu_supports also
  // checks that the OS saves the wider registers.)
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512vl")) {
    return SimdLevel::kAvx512;
  }
  if (avx2) return SimdLevel::kAvx2;
#endif
  return SimdLevel::kPortable;
}

// MOELAB_SIMD's level; nullopt when it is set to an unknown value.
std::optional<SimdLevel> EnvironmentCap() {
  const char* value = std::getenv("MOELAB_SIMD");
  if (value == nullptr || *value == '\0') return SimdLevel::kAvx512;
  try {
    return ParseSimdLevel(value);
  } catch (const std::invalid_argument&) {
    return std::nullopt;
  }
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
  for (SimdLevel level : kAllLevels) {
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
  static const SimdLevel environment = [] {
    const std::optional<SimdLevel> cap = EnvironmentCap();
    if (cap) return *cap;
    std::cerr << "moelab: ignoring MOELAB_SIMD=" << std::getenv("MOELAB_SIMD")
              << " (expected portable, avx2 or avx512)\n";
    return SimdLevel::kAvx512;
  }();
  return std::min({SupportedSimdLevel(), environment, Cap().load(std::memory_order_relaxed)});
}

void CheckSimdEnvironment() {
  const char* value = std::getenv("MOELAB_SIMD");
  if (value != nullptr && *value != '\0') ParseSimdLevel(value);
}

std::vector<SimdLevel> RunningSimdLevels() {
  std::vector<SimdLevel> levels;
  for (SimdLevel level : kAllLevels) {
    if (SimdLevelRuns(level)) levels.push_back(level);
  }
  return levels;
}

SimdLevel LimitSimdLevel(SimdLevel cap) {
  return Cap().exchange(cap, std::memory_order_relaxed);
}

}  // namespace moelab::detail
