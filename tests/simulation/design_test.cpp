#include "moelab/simulation/design.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "support/expect_invalid.hpp"
#include "support/statistics.hpp"

namespace moelab {
namespace {

using testing::ThrowsInvalidArgument;

// Significance level of the goodness-of-fit tests: a correct sampler fails
// this fixed seed with probability 1e-6.
constexpr double kAlpha = 1e-6;

TEST(DrawCovariatesTest, UniformDesignFillsItsBoxUniformly) {
  CovariateDesign design;
  design.kind = DesignKind::kUniform;
  design.dim = 3;
  design.lower = -0.5;
  design.upper = 2.0;
  Rng rng(1101);
  const Matrix X = DrawCovariates(design, 20000, rng);
  ASSERT_EQ(X.rows(), 20000);
  ASSERT_EQ(X.cols(), 3);
  EXPECT_GE(X.minCoeff(), -0.5);
  EXPECT_LT(X.maxCoeff(), 2.0);
  // 60000 values in 10 equal-width bins: chi2(9) at level 1e-6.
  Vector observed = Vector::Zero(10);
  for (Index i = 0; i < X.size(); ++i) {
    observed[static_cast<Index>((X.data()[i] + 0.5) / 2.5 * 10.0)] += 1.0;
  }
  const Vector expected = Vector::Constant(10, X.size() / 10.0);
  EXPECT_LT(testing::PearsonChiSquare(observed, expected),
            testing::ChiSquareUpperQuantile(9, kAlpha));
}

TEST(DrawCovariatesTest, NormalDesignIsStandardNormal) {
  CovariateDesign design;
  design.kind = DesignKind::kNormal;
  design.dim = 2;
  Rng rng(1102);
  const Matrix X = DrawCovariates(design, 25000, rng);
  const Vector values = Eigen::Map<const Vector>(X.data(), X.size());
  // 50000 values in 20 equiprobable normal bins: chi2(19) at level 1e-6.
  const Vector observed = testing::StandardNormalBinCounts(values, 20);
  const Vector expected = Vector::Constant(20, values.size() / 20.0);
  EXPECT_LT(testing::PearsonChiSquare(observed, expected),
            testing::ChiSquareUpperQuantile(19, kAlpha));
}

TEST(DrawCovariatesTest, DrawsRowByRowThenColumnByColumn) {
  CovariateDesign design;
  design.dim = 2;
  Rng rng(1103), replay(1103);
  const Matrix X = DrawCovariates(design, 3, rng);
  for (Index r = 0; r < 3; ++r)
    for (Index c = 0; c < 2; ++c) EXPECT_EQ(X(r, c), UniformReal(replay, -1.0, 1.0));
}

TEST(DrawCovariatesTest, GridIsLinspaceAndDrawsNothing) {
  CovariateDesign design;
  design.kind = DesignKind::kGrid;
  design.lower = 0.0;
  design.upper = 1.0;
  Rng rng(1104);
  const Rng before = rng;
  const Matrix X = DrawCovariates(design, 101, rng);
  EXPECT_TRUE(rng == before) << "the grid design consumed random numbers";
  EXPECT_EQ(X(0, 0), 0.0);
  EXPECT_EQ(X(100, 0), 1.0);
  // Entries i / 100 up to the rounding of one multiply-add: 1e-15.
  for (Index i = 0; i <= 100; ++i) EXPECT_NEAR(X(i, 0), i / 100.0, 1e-15);
  const Matrix single = DrawCovariates(design, 1, rng);
  EXPECT_EQ(single(0, 0), 0.0);
}

TEST(MidpointCovariatesTest, QuantilesAtTheCellMidpoints) {
  CovariateDesign uniform;
  uniform.lower = 0.0;
  uniform.upper = 2.0;
  const Matrix U = MidpointCovariates(uniform, 4);
  ASSERT_EQ(U.rows(), 4);
  ASSERT_EQ(U.cols(), 1);
  // 2 (i + 1/2) / 4: exact in binary.
  for (Index i = 0; i < 4; ++i) EXPECT_EQ(U(i, 0), 0.25 + 0.5 * static_cast<double>(i));
  CovariateDesign normal;
  normal.kind = DesignKind::kNormal;
  const Matrix N = MidpointCovariates(normal, 5);
  // Boost's normal quantile is accurate to a few ulps; 1e-12 leaves room for
  // that and for the 15-digit table value of Phi^{-1}(0.1).
  EXPECT_NEAR(N(2, 0), 0.0, 1e-12);  // the median of N(0, 1)
  EXPECT_NEAR(N(0, 0), -1.28155156554460, 1e-12);
  EXPECT_NEAR(N(4, 0), -N(0, 0), 1e-12);  // symmetry
  CovariateDesign two_d;
  two_d.dim = 2;
  EXPECT_TRUE(ThrowsInvalidArgument([&] { MidpointCovariates(two_d, 3); },
                                    {"MidpointCovariates", "d = 2"}));
  EXPECT_TRUE(ThrowsInvalidArgument([&] { MidpointCovariates(uniform, 0); },
                                    {"MidpointCovariates", "m must be >= 1"}));
}

TEST(CovariateDesignTest, InvalidDesignsNameTheField) {
  CovariateDesign dim;
  dim.dim = 0;
  EXPECT_TRUE(ThrowsInvalidArgument([&] { dim.Validate(); }, {"CovariateDesign::Validate", "dim"}));
  CovariateDesign order;
  order.lower = 1.0;
  order.upper = 1.0;
  EXPECT_TRUE(ThrowsInvalidArgument([&] { order.Validate(); }, {"lower", "upper"}));
  CovariateDesign nan;
  nan.upper = std::numeric_limits<double>::quiet_NaN();
  EXPECT_TRUE(ThrowsInvalidArgument([&] { nan.Validate(); }, {"upper"}));
  CovariateDesign grid;
  grid.kind = DesignKind::kGrid;
  grid.dim = 2;
  EXPECT_TRUE(ThrowsInvalidArgument([&] { grid.Validate(); }, {"grid", "dim = 1"}));
  // The normal design ignores the box.
  CovariateDesign normal;
  normal.kind = DesignKind::kNormal;
  normal.lower = 3.0;
  normal.upper = -3.0;
  EXPECT_NO_THROW(normal.Validate());
  Rng rng(1105);
  EXPECT_TRUE(ThrowsInvalidArgument([&] { DrawCovariates(CovariateDesign{}, 0, rng); },
                                    {"DrawCovariates", "n must be >= 1"}));
}

TEST(CovariateDesignTest, NamesRoundTripAndUnknownNamesThrow) {
  for (DesignKind k : {DesignKind::kUniform, DesignKind::kNormal, DesignKind::kGrid}) {
    EXPECT_EQ(ParseDesignKind(ToString(k)), k);
  }
  EXPECT_TRUE(ThrowsInvalidArgument([] { ParseDesignKind("sobol"); },
                                    {"sobol", "uniform, normal, grid"}));
}

}  // namespace
}  // namespace moelab
