// Tests of the SIMD level choice (estimators/detail/simd_level.hpp): the
// levels that run, the process-wide cap, and MOELAB_SIMD's parsing and check.
#include "moelab/estimators/detail/simd_level.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace moelab::detail {
namespace {

TEST(SimdLevelTest, RunningLevelsStartPortableAndEndAtTheSupportedOne) {
  const std::vector<SimdLevel> levels = RunningSimdLevels();
  ASSERT_FALSE(levels.empty());
  EXPECT_EQ(levels.front(), SimdLevel::kPortable);
  EXPECT_EQ(levels.back(), SupportedSimdLevel());
  EXPECT_TRUE(SimdLevelRuns(SimdLevel::kPortable));
}

TEST(SimdLevelTest, ScopedCapLowersTheActiveLevelAndRestoresIt) {
  const SimdLevel active = ActiveSimdLevel();
  {
    const ScopedSimdLevelCap cap(SimdLevel::kPortable);
    EXPECT_EQ(ActiveSimdLevel(), SimdLevel::kPortable);
    {
      const ScopedSimdLevelCap inner(SimdLevel::kAvx512);  // never above what the CPU has
      EXPECT_EQ(ActiveSimdLevel(), active);
    }
    EXPECT_EQ(ActiveSimdLevel(), SimdLevel::kPortable);
  }
  EXPECT_EQ(ActiveSimdLevel(), active);
  // An explicit level the CPU lacks is lowered, never run.
  EXPECT_EQ(RunnableSimdLevel(SimdLevel::kAvx512), SupportedSimdLevel());
  EXPECT_EQ(RunnableSimdLevel(SimdLevel::kPortable), SimdLevel::kPortable);
}

TEST(SimdLevelTest, NamesParseBackAndUnknownNamesAreRejected) {
  for (SimdLevel level : {SimdLevel::kPortable, SimdLevel::kAvx2, SimdLevel::kAvx512}) {
    EXPECT_EQ(ParseSimdLevel(SimdLevelName(level)), level);
  }
  try {
    ParseSimdLevel("sse4");
    ADD_FAILURE() << "no exception";
  } catch (const std::invalid_argument& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("MOELAB_SIMD=sse4"), std::string::npos) << message;
    EXPECT_NE(message.find("portable, avx2 or avx512"), std::string::npos) << message;
  }
}

// CheckSimdEnvironment reads MOELAB_SIMD when called (ActiveSimdLevel reads
// it once and never throws: it runs on worker threads).
TEST(SimdLevelTest, CheckSimdEnvironmentRejectsAnUnknownValue) {
  const char* saved = std::getenv("MOELAB_SIMD");
  const std::string restore = saved != nullptr ? saved : "";
  ::setenv("MOELAB_SIMD", "sse4", 1);
  EXPECT_THROW(CheckSimdEnvironment(), std::invalid_argument);
  EXPECT_NO_THROW(ActiveSimdLevel());
  ::setenv("MOELAB_SIMD", "avx2", 1);
  EXPECT_NO_THROW(CheckSimdEnvironment());
  if (saved != nullptr) {
    ::setenv("MOELAB_SIMD", restore.c_str(), 1);
  } else {
    ::unsetenv("MOELAB_SIMD");
  }
}

}  // namespace
}  // namespace moelab::detail
