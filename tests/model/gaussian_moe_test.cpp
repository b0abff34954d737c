#include "moelab/model/gaussian_moe.hpp"

#include <gtest/gtest.h>

#include <boost/math/distributions/normal.hpp>
#include <cmath>
#include <limits>

#include "moelab/core/log_sum_exp.hpp"
#include "moelab/model/gates/gate.hpp"
#include "support/expect_invalid.hpp"
#include "support/random_params.hpp"

namespace moelab {
namespace {

using testing::Describe;
using testing::EveryGate;
using testing::RandomCovariates;
using testing::RandomDataset;
using testing::RandomMoe;
using testing::ThrowsInvalidArgument;

TEST(GaussianMoeTest, OneExpertIsTheBoostNormalForEveryGate) {
  Rng rng(901);
  for (const GateParams& gate : EveryGate(1, 2, rng)) {
    const GaussianMoe model(RandomMoe(gate, rng));
    const Dataset data = RandomDataset(30, 2, rng);
    const Vector log_densities = model.LogDensities(data.X, data.y);
    const ExpertParams& e = model.params().experts;
    for (Index n = 0; n < data.size(); ++n) {
      const double mean = e.slope.row(0).dot(data.X.row(n)) + e.intercept[0];
      const boost::math::normal law(mean, std::sqrt(e.variance[0]));
      // Boost 1.74 (Debian 12) has no logpdf; |y - mean| < 15 and variance
      // >= 0.2 keep the pdf above 1e-250, where log(pdf) is accurate to a few
      // ulps of pdf, i.e. ~1e-15 absolute. Tolerance 1e-13 relative to
      // max(1, |log p|).
      const double logpdf = std::log(boost::math::pdf(law, data.y[n]));
      EXPECT_NEAR(log_densities[n], logpdf, 1e-13 * std::max(1.0, std::abs(logpdf)))
          << Describe(gate);
      const double pdf = boost::math::pdf(law, data.y[n]);
      EXPECT_NEAR(std::exp(model.LogDensity(data.X.row(n).transpose(), data.y[n])), pdf,
                  1e-12 * pdf);
    }
  }
}

TEST(GaussianMoeTest, DensityIsTheDirectMixtureSumForEveryGate) {
  Rng rng(902);
  for (Index k : {2, 3}) {
    for (const GateParams& gate : EveryGate(k, 2, rng)) {
      const GaussianMoe model(RandomMoe(gate, rng));
      const Dataset data = RandomDataset(30, 2, rng);
      const Vector log_densities = model.LogDensities(data.X, data.y);
      const Matrix weights = ExpOfLog(GateLogWeights(gate, data.X));
      const ExpertParams& e = model.params().experts;
      for (Index n = 0; n < data.size(); ++n) {
        // Linear space: sum_i g_i(x) * pdf_i(y), fine for moderate inputs.
        double direct = 0.0;
        for (Index i = 0; i < k; ++i) {
          const double mean = e.slope.row(i).dot(data.X.row(n)) + e.intercept[i];
          direct += weights(n, i) *
                    boost::math::pdf(boost::math::normal(mean, std::sqrt(e.variance[i])), data.y[n]);
        }
        ASSERT_GT(direct, 1e-200) << "inputs not moderate enough for the linear-space check";
        // Relative error of a k-term sum of products of correctly rounded
        // factors: 1e-12 covers it with room.
        EXPECT_NEAR(std::exp(log_densities[n]), direct, 1e-12 * direct)
            << Describe(gate) << " k=" << k << " row " << n;
      }
      EXPECT_NEAR(model.LogLikelihood(data), log_densities.sum(),
                  1e-12 * std::abs(log_densities.sum()));
    }
  }
}

TEST(GaussianMoeTest, ResponsibilitiesAreThePosteriorExpertProbabilities) {
  Rng rng(903);
  for (const GateParams& gate : EveryGate(3, 1, rng)) {
    const GaussianMoe model(RandomMoe(gate, rng));
    const Dataset data = RandomDataset(30, 1, rng);
    const Matrix R = model.Responsibilities(data);
    const Matrix weights = ExpOfLog(GateLogWeights(gate, data.X));
    const Matrix joint = ExpOfLog(model.JointLogTerms(data.X, data.y));
    for (Index n = 0; n < data.size(); ++n) {
      EXPECT_NEAR(R.row(n).sum(), 1.0, 1e-14) << Describe(gate);
      for (Index i = 0; i < 3; ++i) {
        EXPECT_GE(R(n, i), 0.0);
        const bool unselected = GateLogWeights(gate, data.X.row(n))(0, i) == kNegInf;
        if (unselected) {
          EXPECT_EQ(R(n, i), 0.0) << "unselected expert got mass";
        }
        // Bayes' rule in linear space; probabilities, so 1e-13 absolute.
        EXPECT_NEAR(R(n, i), joint(n, i) / joint.row(n).sum(), 1e-13) << Describe(gate);
      }
    }
  }
}

TEST(GaussianMoeTest, UnselectedExpertsGetExactlyZeroWeightAndResponsibility) {
  // Regression: Eigen 3.4's vectorised exp() returns ~5.6e-309 for -inf, so
  // exponentiating log weights with .array().exp() gave unselected top-K
  // experts a positive responsibility, and r * log g = 5e-309 * (-inf) made
  // the EM gate objective of the model's own responsibilities -inf.
  Rng rng(907);
  const GateParams gate = testing::RandomGate(GateKind::kTopK, 4, 2, rng, 2);
  const GaussianMoe model(RandomMoe(gate, rng));
  const Dataset data = RandomDataset(64, 2, rng);
  const Matrix log_w = GateLogWeights(gate, data.X);
  const Matrix R = model.Responsibilities(data);
  for (Index n = 0; n < data.size(); ++n) {
    for (Index i = 0; i < 4; ++i) {
      if (log_w(n, i) == kNegInf) {
        ASSERT_EQ(R(n, i), 0.0) << "row " << n << " expert " << i;
      }
    }
  }
  EXPECT_TRUE(std::isfinite(GateObjective(gate, data.X, R)));
  // The conditional mean ignores unselected experts exactly: moving one
  // unselected expert's mean far away must not change E[y | x] at all.
  const Matrix x = data.X.topRows(1);
  Index unselected = 0;
  while (log_w(0, unselected) != kNegInf) ++unselected;
  MoeParams moved = model.params();
  moved.experts.intercept[unselected] += 1e300;
  EXPECT_EQ(GaussianMoe(moved).ConditionalMean(x)[0], model.ConditionalMean(x)[0]);
}

TEST(GaussianMoeTest, FarOutlyingResponsesStayFiniteInLogSpace) {
  // y = 1e4 makes every expert density underflow to 0 in linear space; the
  // log density must still be finite and the responsibilities a distribution.
  Rng rng(904);
  for (const GateParams& gate : EveryGate(3, 1, rng)) {
    const GaussianMoe model(RandomMoe(gate, rng));
    Dataset data = RandomDataset(5, 1, rng);
    data.y.setConstant(1e4);
    const Vector log_densities = model.LogDensities(data.X, data.y);
    const Matrix R = model.Responsibilities(data);
    for (Index n = 0; n < 5; ++n) {
      EXPECT_TRUE(std::isfinite(log_densities[n])) << Describe(gate);
      EXPECT_NEAR(R.row(n).sum(), 1.0, 1e-14) << Describe(gate);
      EXPECT_FALSE(R.row(n).hasNaN());
    }
  }
}

TEST(GaussianMoeTest, ConditionalMomentsFollowTheMixtureFormulas) {
  Rng rng(905);
  for (const GateParams& gate : EveryGate(3, 2, rng)) {
    const GaussianMoe model(RandomMoe(gate, rng));
    const Matrix X = RandomCovariates(20, 2, rng);
    const Vector mean = model.ConditionalMean(X);
    const Vector variance = model.ConditionalVariance(X);
    const Matrix weights = ExpOfLog(GateLogWeights(gate, X));
    const ExpertParams& e = model.params().experts;
    for (Index n = 0; n < X.rows(); ++n) {
      // E[y|x] = sum g m;  Var[y|x] = sum g (nu + (m - E[y|x])^2) (centred
      // form, a different route from the implementation's E[m^2] - E[m]^2).
      double m = 0.0;
      for (Index i = 0; i < 3; ++i) m += weights(n, i) * (e.slope.row(i).dot(X.row(n)) + e.intercept[i]);
      double v = 0.0;
      for (Index i = 0; i < 3; ++i) {
        const double dev = e.slope.row(i).dot(X.row(n)) + e.intercept[i] - m;
        v += weights(n, i) * (e.variance[i] + dev * dev);
      }
      // Values O(10); the uncentred formula loses ~ |m|^2 eps: 1e-12.
      EXPECT_NEAR(mean[n], m, 1e-12) << Describe(gate);
      EXPECT_NEAR(variance[n], v, 1e-12) << Describe(gate);
      EXPECT_GT(variance[n], 0.0);
    }
  }
}

TEST(GaussianMoeTest, InvalidParametersAndDataThrow) {
  Rng rng(906);
  MoeParams bad = RandomMoe(testing::RandomGate(GateKind::kTemperature, 2, 1, rng), rng);
  bad.gate.temperature = 0.0;
  EXPECT_TRUE(ThrowsInvalidArgument([&] { GaussianMoe model(bad); }, {"gate.temperature"}));
  const GaussianMoe model(RandomMoe(testing::RandomGate(GateKind::kSoftmax, 2, 2, rng), rng));
  const Dataset wrong_d = RandomDataset(5, 3, rng);
  EXPECT_TRUE(ThrowsInvalidArgument([&] { model.LogDensities(wrong_d.X, wrong_d.y); },
                                    {"X columns (d)"}));
  EXPECT_TRUE(ThrowsInvalidArgument([&] { model.ConditionalMean(wrong_d.X); }, {"X columns (d)"}));
  Dataset nan = RandomDataset(5, 2, rng);
  nan.y[4] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_TRUE(ThrowsInvalidArgument([&] { model.LogLikelihood(nan); }, {"y(4, 0)"}));
  EXPECT_TRUE(ThrowsInvalidArgument([&] { model.Responsibilities(nan); }, {"y(4, 0)"}));
  Dataset short_y = RandomDataset(5, 2, rng);
  short_y.y.conservativeResize(4);
  EXPECT_TRUE(ThrowsInvalidArgument([&] { model.JointLogTerms(short_y.X, short_y.y); },
                                    {"y length"}));
}

}  // namespace
}  // namespace moelab
