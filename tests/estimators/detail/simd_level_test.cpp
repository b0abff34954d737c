// Tests of the SIMD level choice (estimators/detail/simd_level.hpp): the
// levels that run, the process-wide cap, and MOELAB_SIMD's parsing.
#include "moelab/estimators/detail/simd_level.hpp"

#include <gtest/gtest.h>

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

TEST(SimdLevelTest, LimitCapsTheActiveLevelAndSupportedLiftsIt) {
  const SimdLevel active = ActiveSimdLevel();
  LimitSimdLevel(SimdLevel::kPortable);
  EXPECT_EQ(ActiveSimdLevel(), SimdLevel::kPortable);
  LimitSimdLevel(SimdLevel::kAvx512);  // never above what the CPU supports
  EXPECT_EQ(ActiveSimdLevel(), active);
  LimitSimdLevel(SupportedSimdLevel());
  EXPECT_EQ(ActiveSimdLevel(), active);
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

}  // namespace
}  // namespace moelab::detail
