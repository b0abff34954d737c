#include "moelab/metrics/density_distance.hpp"

#include <gtest/gtest.h>

#include <boost/math/distributions/normal.hpp>
#include <boost/math/quadrature/gauss_kronrod.hpp>
#include <cmath>

#include "metrics/metrics_test_util.hpp"
#include "moelab/simulation/presets.hpp"
#include "support/expect_invalid.hpp"
#include "support/random_params.hpp"

namespace moelab {
namespace {

using testing::Moe1d;
using testing::ThrowsInvalidArgument;

constexpr auto kH = DensityDistanceKind::kHellinger;
constexpr auto kTV = DensityDistanceKind::kTotalVariation;

// A single expert N(slope x + mean, variance).
MoeParams Single(double mean, double variance, double slope = 0.0) {
  return Moe1d({0}, {0}, {slope}, {mean}, {variance});
}

double HellingerOfNormals(double m1, double v1, double m2, double v2) {
  const double h2 = 1.0 - std::sqrt(2.0 * std::sqrt(v1 * v2) / (v1 + v2)) *
                              std::exp(-(m1 - m2) * (m1 - m2) / (4.0 * (v1 + v2)));
  return std::sqrt(h2);
}

// TV = |P1(B) - P2(B)| for B the interval between the crossing points of the
// two densities (one crossing when the variances agree).
double TotalVariationOfNormals(double m1, double v1, double m2, double v2) {
  const boost::math::normal_distribution<double> n1(m1, std::sqrt(v1)), n2(m2, std::sqrt(v2));
  if (v1 == v2) {
    const double c = 0.5 * (m1 + m2);
    return std::abs(boost::math::cdf(n1, c) - boost::math::cdf(n2, c));
  }
  const double A = 0.5 / v2 - 0.5 / v1;
  const double B = m1 / v1 - m2 / v2;
  const double C = m2 * m2 / (2 * v2) - m1 * m1 / (2 * v1) - 0.5 * std::log(v1 / v2);
  const double disc = std::sqrt(B * B - 4 * A * C);
  const double x1 = std::min((-B - disc) / (2 * A), (-B + disc) / (2 * A));
  const double x2 = std::max((-B - disc) / (2 * A), (-B + disc) / (2 * A));
  return std::abs((boost::math::cdf(n1, x2) - boost::math::cdf(n1, x1)) -
                  (boost::math::cdf(n2, x2) - boost::math::cdf(n2, x1)));
}

DensityDistanceOptions FixedMonteCarlo(Index m) {
  DensityDistanceOptions o;
  o.target_relative_error = 0.0;
  o.min_x = m;
  o.max_x = m;
  return o;
}

CovariateDesign UnitInterval() {
  CovariateDesign d;
  d.lower = 0.0;
  return d;
}

// The y-integral targets 1e-8 relative error on h^2 (5e-9 on h) and on TV;
// Gauss-Kronrod error estimates are conservative, so 1e-7 relative is safe.
TEST(DensityDistanceTest, SingleExpertModelsMatchTheClosedFormsForTwoNormals) {
  const double cases[][4] = {{0, 1, 1, 1},         {0, 1, 0, 2},      {0.5, 0.3, -0.2, 1.7},
                             {0, 1, 8, 1},         {3, 0.09, 3.2, 0.16}, {-5, 0.16, 15, 0.09}};
  Rng rng(11);
  for (const auto& c : cases) {
    const MoeParams p = Single(c[0], c[1]), q = Single(c[2], c[3]);
    const double h = HellingerOfNormals(c[0], c[1], c[2], c[3]);
    const double tv = TotalVariationOfNormals(c[0], c[1], c[2], c[3]);
    const Vector hx = ConditionalDensityDistance(kH, p, q, Matrix::Constant(3, 1, 0.4));
    const Vector tvx = ConditionalDensityDistance(kTV, p, q, Matrix::Constant(3, 1, 0.4));
    EXPECT_NEAR(hx[0], h, 1e-7 * h) << c[0] << ' ' << c[1] << ' ' << c[2] << ' ' << c[3];
    EXPECT_NEAR(tvx[0], tv, 1e-7 * tv) << c[0] << ' ' << c[1] << ' ' << c[2] << ' ' << c[3];
    // Constant in x: the expectation is the same number with zero spread.
    const DensityDistance e = ExpectedHellinger(p, q, UnitInterval(), {}, rng);
    EXPECT_NEAR(e.value, h, 1e-7 * h);
    EXPECT_EQ(e.standard_error, 0.0);
    EXPECT_TRUE(e.target_met);
    EXPECT_EQ(e.y_unconverged, 0);
  }
}

TEST(DensityDistanceTest, SymmetricBoundedAndZeroForIdenticalModels) {
  Rng rng(12);
  const Matrix X = testing::RandomCovariates(15, 2, rng);
  for (const GateParams& gate : testing::EveryGate(3, 2, rng)) {
    const MoeParams p = testing::RandomMoe(gate, rng);
    const MoeParams q = testing::RandomMoe(gate, rng);
    for (DensityDistanceKind kind : {kH, kTV}) {
      const Vector pq = ConditionalDensityDistance(kind, p, q, X);
      const Vector qp = ConditionalDensityDistance(kind, q, p, X);
      const Vector pp = ConditionalDensityDistance(kind, p, p, X);
      for (Index n = 0; n < X.rows(); ++n) {
        // Same pieces, and (a - b)^2, |a - b| are exactly symmetric.
        EXPECT_DOUBLE_EQ(pq[n], qp[n]) << testing::Describe(gate);
        EXPECT_GE(pq[n], 0.0);
        EXPECT_LE(pq[n], 1.0);
        EXPECT_EQ(pp[n], 0.0) << testing::Describe(gate);
      }
    }
  }
  // Far apart: both distances approach 1 and stay <= 1.
  const MoeParams far_p = Single(-50, 0.01), far_q = Single(50, 0.01);
  const Matrix x0 = Matrix::Zero(1, 1);
  EXPECT_LE(ConditionalDensityDistance(kH, far_p, far_q, x0)[0], 1.0);
  EXPECT_GT(ConditionalDensityDistance(kH, far_p, far_q, x0)[0], 1.0 - 1e-12);
  EXPECT_LE(ConditionalDensityDistance(kTV, far_p, far_q, x0)[0], 1.0);
  EXPECT_GT(ConditionalDensityDistance(kTV, far_p, far_q, x0)[0], 1.0 - 1e-12);
}

// p = N(x, 0.5), q = N(3x, 0.5): h(x)^2 = 1 - exp(-x^2), TV(x) = 2 Phi(sqrt 2 x) - 1.
struct XDependent {
  MoeParams p = Single(0.0, 0.5, 1.0);
  MoeParams q = Single(0.0, 0.5, 3.0);
  double ExactHellinger() const {
    return boost::math::quadrature::gauss_kronrod<double, 31>::integrate(
        [](double x) { return std::sqrt(1.0 - std::exp(-x * x)); }, 0.0, 1.0, 15, 1e-13);
  }
  double ExactTotalVariation() const {
    const boost::math::normal_distribution<double> standard;
    return boost::math::quadrature::gauss_kronrod<double, 31>::integrate(
        [&](double x) { return 2.0 * boost::math::cdf(standard, std::sqrt(2.0) * x) - 1.0; }, 0.0,
        1.0, 15, 1e-13);
  }
};

TEST(DensityDistanceTest, MidpointGridMatchesTheExactExpectationWithinItsErrorEstimate) {
  const XDependent m;
  DensityDistanceOptions o;
  o.x_integration = XIntegration::kMidpointGrid;
  Rng rng(13);
  for (DensityDistanceKind kind : {kH, kTV}) {
    const DensityDistance r = ExpectedDensityDistance(kind, m.p, m.q, UnitInterval(), o, rng);
    const double exact = kind == kH ? m.ExactHellinger() : m.ExactTotalVariation();
    EXPECT_TRUE(r.deterministic);
    EXPECT_EQ(r.num_x, 999);
    // Midpoint error ~ f''/(24 m^2) ~ 4e-8; the Richardson estimate tracks it;
    // 1e-8 covers the y-quadrature (5e-9 relative).
    EXPECT_NEAR(r.value, exact, 2 * r.standard_error + 1e-8) << ToString(kind);
    EXPECT_LT(r.standard_error, 1e-6);
  }
}

TEST(DensityDistanceTest, MonteCarloEstimateIsWithinItsStandardErrorOfTheTruth) {
  const XDependent m;
  DensityDistanceOptions o;
  o.target_relative_error = 0.01;
  Rng rng(14);
  const DensityDistance r = ExpectedHellinger(m.p, m.q, UnitInterval(), o, rng);
  EXPECT_TRUE(r.target_met);
  EXPECT_LE(r.standard_error, 0.01 * r.value);
  // 4 standard errors: a 6e-5 two-sided Gaussian tail (fixed seed, no retries).
  EXPECT_NEAR(r.value, m.ExactHellinger(), 4 * r.standard_error);
}

// The ratio of two sample-sd estimates, each with relative sd about
// sqrt((kurtosis - 1) / (4 m)) <= 5% at m = 400 for this bounded h(X), is 4
// within 15% (3 sigma).
TEST(DensityDistanceTest, MonteCarloStandardErrorShrinksLikeOneOverRootM) {
  const XDependent m;
  Rng rng_small(15), rng_large(16);
  const DensityDistance small = ExpectedHellinger(m.p, m.q, UnitInterval(), FixedMonteCarlo(400), rng_small);
  const DensityDistance large = ExpectedHellinger(m.p, m.q, UnitInterval(), FixedMonteCarlo(6400), rng_large);
  EXPECT_EQ(small.num_x, 400);
  EXPECT_EQ(large.num_x, 6400);
  EXPECT_FALSE(small.target_met);  // targets 0: only max_x stops it
  const double ratio = small.standard_error / large.standard_error;
  EXPECT_GT(ratio, 4.0 * 0.85);
  EXPECT_LT(ratio, 4.0 * 1.15);
}

TEST(DensityDistanceTest, SameSeedSameAnswerAndTheAbsoluteTargetIsMet) {
  const Preset preset = GetPreset("softmax-exact");
  MoeParams fit = preset.truth;
  fit.experts.intercept[0] += 0.05;
  fit.gate.slope(0, 0) -= 0.5;
  DensityDistanceOptions o;
  o.target_relative_error = 0.0;
  o.target_absolute_error = 2e-3;
  Rng a(17), b(17), c(18);
  const DensityDistance ra = ExpectedHellinger(fit, preset.truth, preset.design, o, a);
  const DensityDistance rb = ExpectedHellinger(fit, preset.truth, preset.design, o, b);
  const DensityDistance rc = ExpectedHellinger(fit, preset.truth, preset.design, o, c);
  EXPECT_EQ(ra.value, rb.value);
  EXPECT_EQ(ra.num_x, rb.num_x);
  EXPECT_NE(ra.value, rc.value);
  EXPECT_TRUE(ra.target_met);
  EXPECT_LE(ra.standard_error, 2e-3);
  EXPECT_NE(ra.BriefReport().find("MC"), std::string::npos);
}

TEST(DensityDistanceTest, GridDesignIsIntegratedAsItsUniformLimit) {
  const XDependent m;
  CovariateDesign grid;
  grid.kind = DesignKind::kGrid;
  grid.lower = 0.0;
  DensityDistanceOptions o;
  o.target_relative_error = 0.02;
  Rng rng(19);
  const DensityDistance r = ExpectedHellinger(m.p, m.q, grid, o, rng);
  EXPECT_FALSE(r.deterministic);
  EXPECT_NEAR(r.value, m.ExactHellinger(), 4 * r.standard_error);  // 4 sigma, as above
}

TEST(DensityDistanceTest, BadInputThrows) {
  const MoeParams p = Single(0, 1);
  MoeParams wide = p;
  wide.gate.slope = Matrix::Zero(1, 2);
  wide.experts.slope = Matrix::Zero(1, 2);
  Rng rng(20);
  EXPECT_TRUE(ThrowsInvalidArgument(
      [&] { ExpectedHellinger(p, wide, UnitInterval(), {}, rng); }, {"differ in dimension"}));
  CovariateDesign d2;
  d2.dim = 2;
  EXPECT_TRUE(ThrowsInvalidArgument([&] { ExpectedHellinger(p, p, d2, {}, rng); },
                                    {"covariates have 2 columns"}));
  DensityDistanceOptions grid;
  grid.x_integration = XIntegration::kMidpointGrid;
  EXPECT_TRUE(ThrowsInvalidArgument([&] { ExpectedHellinger(wide, wide, d2, grid, rng); },
                                    {"one-dimensional"}));
  MoeParams nan = p;
  nan.experts.variance[0] = std::nan("");
  EXPECT_TRUE(ThrowsInvalidArgument([&] { ExpectedHellinger(nan, p, UnitInterval(), {}, rng); },
                                    {"model p is invalid", "variance"}));
  EXPECT_TRUE(ThrowsInvalidArgument(
      [&] { ConditionalDensityDistance(kH, p, p, Matrix::Constant(1, 1, std::nan(""))); },
      {"X"}));
  auto bad = [](auto change, const char* field) {
    DensityDistanceOptions o;
    change(o);
    return ThrowsInvalidArgument([&] { o.Validate(); }, {field});
  };
  EXPECT_TRUE(bad([](auto& o) { o.grid_points = 1000; }, "grid_points"));
  EXPECT_TRUE(bad([](auto& o) { o.min_x = 1; }, "min_x"));
  EXPECT_TRUE(bad([](auto& o) { o.max_x = 10; }, "max_x"));
  EXPECT_TRUE(bad([](auto& o) { o.batch_x = 0; }, "batch_x"));
  EXPECT_TRUE(bad([](auto& o) { o.target_relative_error = -1; }, "target_relative_error"));
  EXPECT_TRUE(bad([](auto& o) { o.y_range_sds = 3; }, "y_range_sds"));
  EXPECT_TRUE(bad([](auto& o) { o.y_relative_tolerance = 0; }, "y_relative_tolerance"));
  EXPECT_TRUE(bad([](auto& o) { o.y_max_intervals = 0; }, "y_max_intervals"));
}

}  // namespace
}  // namespace moelab
