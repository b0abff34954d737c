#include "moelab/estimators/prediction.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "moelab/model/gaussian_moe.hpp"
#include "moelab/simulation/presets.hpp"
#include "moelab/simulation/simulate.hpp"
#include "support/expect_invalid.hpp"
#include "support/random_params.hpp"

namespace moelab {
namespace {

using testing::ThrowsInvalidArgument;

// The predictive mean and variance are checked against the density itself:
// integrals of y p(y | x) and y^2 p(y | x) by the trapezoidal rule on a wide
// fine grid (independent of the closed forms in GaussianMoe).
TEST(PredictionTest, MeanAndVarianceAreMomentsOfTheDensity) {
  Rng rng(21);
  for (const GateParams& gate : testing::EveryGate(3, 2, rng)) {
    const MoeParams params = testing::RandomMoe(gate, rng);
    const GaussianMoe model(params);
    const Matrix X = testing::RandomCovariates(4, 2, rng);
    const MoePrediction prediction = Predict(params, X);
    ASSERT_EQ(prediction.mean.size(), 4);
    ASSERT_EQ(prediction.gate_probabilities.rows(), 4);
    ASSERT_EQ(prediction.gate_probabilities.cols(), 3);
    for (Index n = 0; n < 4; ++n) {
      EXPECT_NEAR(prediction.gate_probabilities.row(n).sum(), 1.0, 1e-12);
      // Grid: experts' means within |.| < 2 * 2 + 2 = 10, sd < 1.3: [-25, 25]
      // leaves > 10 sd on each side; step 1e-3 gives trapezoid error ~1e-7.
      const double lo = -25, hi = 25, h = 1e-3;
      double m0 = 0, m1 = 0, m2 = 0;
      for (double y = lo; y <= hi + 1e-12; y += h) {
        const double w = (y == lo || y + h > hi + 1e-12) ? 0.5 : 1.0;
        const double p = std::exp(model.LogDensity(X.row(n).transpose(), y));
        m0 += w * h * p;
        m1 += w * h * p * y;
        m2 += w * h * p * y * y;
      }
      EXPECT_NEAR(m0, 1.0, 1e-6) << testing::Describe(gate);
      EXPECT_NEAR(prediction.mean[n], m1, 1e-5) << testing::Describe(gate);
      EXPECT_NEAR(prediction.variance[n], m2 - m1 * m1, 1e-5) << testing::Describe(gate);
      EXPECT_NEAR(prediction.mean[n],
                  prediction.gate_probabilities.row(n).dot(prediction.expert_means.row(n)),
                  1e-12);
    }
  }
}

// r_ni = g_i(x) N(y | m_i, nu_i) / p(y | x), with p from LogDensity.
TEST(PredictionTest, PosteriorsAreBayesRuleOnTheDensity) {
  Rng rng(22);
  for (const GateParams& gate : testing::EveryGate(3, 1, rng)) {
    const MoeParams params = testing::RandomMoe(gate, rng);
    const GaussianMoe model(params);
    const Dataset data = testing::RandomDataset(6, 1, rng);
    const Matrix r = Posteriors(params, data.X, data.y);
    const MoePrediction prediction = Predict(params, data.X);
    for (Index n = 0; n < 6; ++n) {
      const double log_p = model.LogDensity(data.X.row(n).transpose(), data.y[n]);
      for (Index i = 0; i < 3; ++i) {
        const double nu = params.experts.variance[i];
        const double e = data.y[n] - prediction.expert_means(n, i);
        const double joint = prediction.gate_probabilities(n, i) *
                             std::exp(-0.5 * e * e / nu) / std::sqrt(2 * M_PI * nu);
        EXPECT_NEAR(r(n, i), joint / std::exp(log_p), 1e-10) << testing::Describe(gate);
      }
      EXPECT_NEAR(r.row(n).sum(), 1.0, 1e-12);
    }
    EXPECT_NEAR(HeldOutLogLikelihood(params, data), model.LogDensities(data.X, data.y).sum(),
                1e-9);
  }
}

TEST(PredictionTest, MapLabelsTakeTheLargestPosteriorAndTheLowerIndexOnTies) {
  Matrix r(4, 3);
  r << 0.2, 0.5, 0.3,  //
      0.4, 0.4, 0.2,   //
      0.1, 0.1, 0.8,   //
      1.0, 0.0, 0.0;
  const IntVector labels = MapLabels(r);
  EXPECT_EQ(labels[0], 1);
  EXPECT_EQ(labels[1], 0);
  EXPECT_EQ(labels[2], 2);
  EXPECT_EQ(labels[3], 0);
}

TEST(PredictionTest, RejectsMismatchedOrNonFiniteInput) {
  const Preset preset = GetPreset("softmax-exact");
  EXPECT_TRUE(ThrowsInvalidArgument([&] { Predict(preset.truth, Matrix::Zero(3, 2)); },
                                    {"X columns"}));
  Matrix X = Matrix::Zero(2, 1);
  X(1, 0) = std::nan("");
  EXPECT_TRUE(ThrowsInvalidArgument([&] { Predict(preset.truth, X); }, {"X"}));
  EXPECT_TRUE(ThrowsInvalidArgument(
      [&] { Posteriors(preset.truth, Matrix::Zero(3, 1), Vector::Zero(2)); }, {}));
  EXPECT_EQ(Predict(preset.truth, Matrix::Zero(0, 1)).mean.size(), 0);
}

}  // namespace
}  // namespace moelab
