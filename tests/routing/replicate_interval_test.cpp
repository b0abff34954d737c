#include "moelab/routing/replicate_interval.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace moelab {
namespace {

TEST(StudentMeanInterval, MatchesTheTableValue) {
  // n = 4, mean 2.5, s^2 = 5/3, t_{0.975, 3} = 3.182446305.
  const MeanInterval m = StudentMeanInterval({1, 2, 3, 4});
  EXPECT_DOUBLE_EQ(m.mean, 2.5);
  EXPECT_DOUBLE_EQ(m.median, 2.5);
  const double half = 3.182446305284263 * std::sqrt(5.0 / 3.0 / 4.0);
  EXPECT_NEAR(m.upper - m.mean, half, 1e-9);
  EXPECT_NEAR(m.mean - m.lower, half, 1e-9);
}

TEST(StudentMeanInterval, DropsNonFiniteAndNeedsTwoValues) {
  const MeanInterval m = StudentMeanInterval({1.0, std::nan(""), 3.0});
  EXPECT_EQ(m.n, 2);
  EXPECT_EQ(m.dropped, 1);
  EXPECT_DOUBLE_EQ(m.mean, 2.0);
  const MeanInterval one = StudentMeanInterval({1.0});
  EXPECT_TRUE(std::isnan(one.lower));
}

}  // namespace
}  // namespace moelab
