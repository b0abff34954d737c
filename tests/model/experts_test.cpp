#include "moelab/model/experts.hpp"

#include <gtest/gtest.h>

#include <boost/math/distributions/normal.hpp>
#include <cmath>
#include <limits>

#include "support/expect_invalid.hpp"
#include "support/random_params.hpp"

namespace moelab {
namespace {

using testing::RandomCovariates;
using testing::RandomExperts;
using testing::ThrowsInvalidArgument;

TEST(ExpertsTest, MeansAreAffineInX) {
  Rng rng(701);
  const ExpertParams experts = RandomExperts(3, 2, rng);
  const Matrix X = RandomCovariates(10, 2, rng);
  const Matrix means = ExpertMeans(experts, X);
  for (Index n = 0; n < 10; ++n)
    for (Index i = 0; i < 3; ++i)
      EXPECT_NEAR(means(n, i), experts.slope.row(i).dot(X.row(n)) + experts.intercept[i], 1e-14);
}

TEST(ExpertsTest, LogDensitiesMatchBoostNormalWithVarianceNotStd) {
  Rng rng(702);
  const ExpertParams experts = RandomExperts(3, 2, rng);
  const Matrix X = RandomCovariates(20, 2, rng);
  const Matrix means = ExpertMeans(experts, X);
  for (Index i = 0; i < 3; ++i) {
    // Responses within 6 standard deviations of expert i, so that the
    // linear-space Boost pdf does not underflow. (Boost 1.74, the Debian 12
    // version, has no logpdf; log(pdf) is accurate to a few ulps here.)
    const double sd = std::sqrt(experts.variance[i]);
    Vector y(20);
    for (Index n = 0; n < 20; ++n) y[n] = means(n, i) + sd * UniformReal(rng, -6.0, 6.0);
    const Matrix log_densities = ExpertLogDensities(experts, X, y);
    for (Index n = 0; n < 20; ++n) {
      // boost::math::normal takes the standard deviation, moelab the variance.
      const boost::math::normal law(means(n, i), sd);
      const double expected = std::log(boost::math::pdf(law, y[n]));
      // |log p| < 20: a few ulps of the pdf are 1e-15 absolute; use 1e-13.
      EXPECT_NEAR(log_densities(n, i), expected, 1e-13) << "expert " << i;
    }
  }
}

TEST(ExpertsTest, ValidateNamesTheBadField) {
  Rng rng(703);
  for (double bad : {0.0, -0.1, std::numeric_limits<double>::quiet_NaN(),
                     std::numeric_limits<double>::infinity()}) {
    ExpertParams experts = RandomExperts(3, 1, rng);
    experts.variance[1] = bad;
    EXPECT_TRUE(ThrowsInvalidArgument([&] { experts.Validate(); },
                                      {"ExpertParams::Validate", "experts.variance[1]"}))
        << bad;
  }
  ExpertParams slope = RandomExperts(3, 2, rng);
  slope.slope(0, 1) = std::numeric_limits<double>::infinity();
  EXPECT_TRUE(ThrowsInvalidArgument([&] { slope.Validate(); }, {"experts.slope(0, 1)"}));
  ExpertParams intercept = RandomExperts(3, 2, rng);
  intercept.intercept[2] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_TRUE(ThrowsInvalidArgument([&] { intercept.Validate(); }, {"experts.intercept(2, 0)"}));
  ExpertParams sizes = RandomExperts(3, 2, rng);
  sizes.variance.conservativeResize(2);
  EXPECT_TRUE(ThrowsInvalidArgument([&] { sizes.Validate(); }, {"experts.variance", "2", "3"}));
  ExpertParams rows = RandomExperts(3, 2, rng);
  rows.slope.conservativeResize(4, 2);
  EXPECT_TRUE(ThrowsInvalidArgument([&] { rows.Validate(); }, {"experts.slope rows"}));
  ExpertParams none;
  EXPECT_TRUE(ThrowsInvalidArgument([&] { none.Validate(); }, {"k = 0"}));
}

}  // namespace
}  // namespace moelab
