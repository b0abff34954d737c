#include "moelab/routing/load_metrics.hpp"

#include <gtest/gtest.h>

#include "support/expect_invalid.hpp"

namespace moelab {
namespace {

TEST(LoadMetrics, HandComputedValues) {
  Vector c(4);
  c << 6, 2, 0, 4;  // mean 3
  EXPECT_DOUBLE_EQ(MaxVio(c), 1.0);
  EXPECT_DOUBLE_EQ(MinVio(c), 1.0);
  EXPECT_DOUBLE_EQ(LoadCoefficientOfVariation(c), std::sqrt(5.0) / 3.0);
  EXPECT_EQ(IdleExperts(c), 1);
  // Two devices: {6, 2} = 8 and {0, 4} = 4 over 6 tokens.
  EXPECT_DOUBLE_EQ(ImbalanceScore(c, 2, 6), 4.0 / 6.0);
  EXPECT_DOUBLE_EQ(ImbalanceScore(c, 1, 6), 0.0);
  EXPECT_DOUBLE_EQ(MaxVio(Vector::Zero(3)), 0.0);  // no reference load: 0, never NaN
}

TEST(LoadMetrics, ImbalanceScoreRejectsUnevenGroups) {
  EXPECT_TRUE(testing::ThrowsInvalidArgument([] { ImbalanceScore(Vector::Ones(6), 4, 3); },
                                             {"num_groups (4)"}));
}

}  // namespace
}  // namespace moelab
