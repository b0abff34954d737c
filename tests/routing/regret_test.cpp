#include "moelab/routing/regret.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace moelab {
namespace {

TEST(RegretGrowthExponent, RecoversPowerLawsAndRejectsShortRanges) {
  std::vector<double> sqrt_t(4000), linear(4000), logt(4000);
  for (int t = 1; t <= 4000; ++t) {
    sqrt_t[t - 1] = 3.0 * std::sqrt(double(t));
    linear[t - 1] = 0.5 * t;
    logt[t - 1] = 10.0 + std::log(double(t));
  }
  EXPECT_NEAR(RegretGrowthExponent(sqrt_t, 1000, 4000), 0.5, 1e-12);
  EXPECT_NEAR(RegretGrowthExponent(linear, 1000, 4000), 1.0, 1e-12);
  // a + log t over [1000, 4000]: d log R / d log t = 1 / R ~ 1/18, far below 1/2.
  EXPECT_LT(RegretGrowthExponent(logt, 1000, 4000), 0.1);
  EXPECT_TRUE(std::isnan(RegretGrowthExponent(linear, 1000, 5000)));  // beyond the data
  EXPECT_TRUE(std::isnan(RegretGrowthExponent(linear, 2, 3)));        // < 3 distinct t
  std::vector<double> zeros(100, 0.0);
  EXPECT_TRUE(std::isnan(RegretGrowthExponent(zeros, 10, 100)));      // log undefined
}

TEST(DoublingRatio, ClassifiesShapes) {
  EXPECT_DOUBLE_EQ(DoublingRatio(1, 2, 4), 2.0);
  EXPECT_TRUE(std::isnan(DoublingRatio(1, 1, 4)));
}

}  // namespace
}  // namespace moelab
