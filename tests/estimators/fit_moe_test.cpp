#include "moelab/estimators/fit_moe.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "moelab/estimators/accelerated_em.hpp"
#include "moelab/estimators/initialization.hpp"
#include "moelab/estimators/restarts.hpp"
#include "moelab/io/params_json.hpp"
#include "moelab/model/gaussian_moe.hpp"
#include "moelab/simulation/presets.hpp"
#include "moelab/simulation/simulate.hpp"
#include "support/expect_invalid.hpp"

namespace moelab {
namespace {

using testing::ThrowsInvalidArgument;

Dataset SoftmaxData(Index n, std::uint64_t seed) {
  const Preset preset = GetPreset("softmax-exact");
  Rng rng(seed);
  return Simulate(preset.truth, preset.design, n, rng);
}

ModelShape Shape(GateKind gate, Index k, Index d) {
  ModelShape shape;
  shape.gate = gate;
  shape.num_experts = k;
  shape.dim = d;
  if (gate == GateKind::kTopK) shape.top_k = static_cast<int>(std::max<Index>(1, k - 1));
  return shape;
}

// FitMoe is the tone-data recipe in one call: the same starts (seed stream
// DeriveSeed(seed, k, 0), data-driven and random alternating) through
// BestOfStarts give bit-identical parameters and log-likelihood.
// FitMoe's EM is SQUAREM by default and plain EM with squarem = false.
TEST(FitMoeTest, EqualsTheHandWrittenBestOfStarts) {
  const Dataset data = SoftmaxData(300, 5);
  const ModelShape shape = Shape(GateKind::kSoftmax, 2, 1);
  for (bool squarem : {true, false}) {
    FitOptions options;
    options.num_starts = 4;
    options.seed = 77;
    options.squarem = squarem;
    const MoeFit fit = FitMoe(data, shape, options);

    Rng rng(DeriveSeed(77, 2, 0));
    int index = 0;
    const FitResult manual = BestOfStarts(
        4,
        [&](Rng& r) {
          return (index++ % 2 == 0) ? InitDataDriven(data, shape, r) : InitRandom(data, shape, r);
        },
        [&](const MoeParams& start) {
          if (!squarem) return FitEm(data, start, FitOptions::DefaultEm());
          AcceleratedEmOptions accelerated;
          accelerated.em = FitOptions::DefaultEm();
          return FitAcceleratedEm(data, start, accelerated);
        },
        rng);
    EXPECT_EQ(fit.result.estimator, squarem ? "em-squarem" : "em");
    EXPECT_EQ(fit.log_likelihood(), manual.log_likelihood);
    EXPECT_EQ(fit.result.best_restart, manual.best_restart);
    EXPECT_EQ(ParamsToJson(fit.params()), ParamsToJson(manual.params));
    EXPECT_EQ(fit.result.restarts, 4);
    // The criteria come from the library's parameter count (8 for k = 2, d = 1).
    EXPECT_EQ(fit.criteria.num_parameters, 8);
    EXPECT_DOUBLE_EQ(fit.criteria.bic, -2 * fit.log_likelihood() + 8 * std::log(300.0));
    EXPECT_DOUBLE_EQ(fit.criteria.aic, -2 * fit.log_likelihood() + 16);
    EXPECT_DOUBLE_EQ(fit.criteria.icl, fit.icl_soft);
    EXPECT_LE(fit.icl_hard, fit.icl_soft);
    EXPECT_NEAR(fit.component_size.sum(), 300.0, 1e-9);
  }
}

// Results do not depend on the thread count (starts fitted in parallel).
TEST(FitMoeTest, SameNumbersForEveryThreadCount) {
  const Dataset data = SoftmaxData(400, 6);
  const ModelShape shape = Shape(GateKind::kSoftmax, 3, 1);
  FitOptions options;
  options.num_starts = 5;
  const MoeFit one = FitMoe(data, shape, options);
  options.num_threads = 3;
  const MoeFit three = FitMoe(data, shape, options);
  EXPECT_EQ(one.log_likelihood(), three.log_likelihood());
  EXPECT_EQ(one.result.best_restart, three.result.best_restart);
  EXPECT_EQ(ParamsToJson(one.params()), ParamsToJson(three.params()));
}

TEST(FitMoeTest, EveryEstimatorRecoversTheTruthAtModerateN) {
  const Preset preset = GetPreset("softmax-exact");
  const Dataset data = SoftmaxData(2000, 8);
  const double truth_ll = GaussianMoe(preset.truth).LogLikelihood(data);
  for (FitEstimator estimator : {FitEstimator::kEm, FitEstimator::kMle, FitEstimator::kLse}) {
    FitOptions options;
    options.estimator = estimator;
    options.num_starts = 4;
    const MoeFit fit = FitMoe(data, Shape(GateKind::kSoftmax, 2, 1), options);
    ASSERT_TRUE(fit.IsUsable()) << ToString(estimator);
    // EM and MLE maximise the likelihood: at least the truth's. LSE
    // minimises the residual sum of squares of the mean function instead:
    // at most the truth's.
    if (estimator == FitEstimator::kLse) {
      const double rss = (data.y - GaussianMoe(fit.params()).ConditionalMean(data.X)).squaredNorm();
      const double truth_rss =
          (data.y - GaussianMoe(preset.truth).ConditionalMean(data.X)).squaredNorm();
      EXPECT_LE(rss, truth_rss);
      EXPECT_NEAR(fit.result.objective, rss, 1e-9 * rss);
    } else {
      EXPECT_GE(fit.log_likelihood(), truth_ll - 1e-6) << ToString(estimator);
    }
  }
}

TEST(FitMoeTest, OneExpertIsLinearRegression) {
  Rng rng(3);
  Dataset data;
  data.X.resize(200, 2);
  data.y.resize(200);
  for (Index n = 0; n < 200; ++n) {
    data.X(n, 0) = UniformReal(rng, -1, 1);
    data.X(n, 1) = UniformReal(rng, -1, 1);
    data.y[n] = 1.0 + 2.0 * data.X(n, 0) - 3.0 * data.X(n, 1) + 0.5 * StandardNormal(rng);
  }
  FitOptions options;
  options.num_starts = 2;
  const MoeFit fit = FitMoe(data, Shape(GateKind::kSoftmax, 1, 2), options);
  // Closed form: ordinary least squares, variance = RSS / n.
  Matrix Z(200, 3);
  Z << Vector::Ones(200), data.X;
  const Vector coef = Z.colPivHouseholderQr().solve(data.y);
  const double rss = (data.y - Z * coef).squaredNorm();
  EXPECT_NEAR(fit.params().experts.intercept[0], coef[0], 1e-7);
  EXPECT_NEAR(fit.params().experts.slope(0, 0), coef[1], 1e-7);
  EXPECT_NEAR(fit.params().experts.slope(0, 1), coef[2], 1e-7);
  EXPECT_NEAR(fit.params().experts.variance[0], rss / 200, 1e-7);
  EXPECT_EQ(fit.criteria.num_parameters, 4);  // d + 2: no gate parameters
  EXPECT_EQ(NumModelParameters(Shape(GateKind::kActivation, 1, 2), false), 4);
}

TEST(FitMoeTest, UserStartsAreTriedFirstAndChecked) {
  const Preset preset = GetPreset("softmax-exact");
  const Dataset data = SoftmaxData(500, 9);
  FitOptions options;
  options.num_starts = 0;
  options.initial_params = {preset.truth};
  const MoeFit fit = FitMoe(data, Shape(GateKind::kSoftmax, 2, 1), options);
  EXPECT_EQ(fit.result.restarts, 1);
  EXPECT_EQ(fit.result.best_restart, 0);
  EXPECT_GE(fit.log_likelihood(), GaussianMoe(preset.truth).LogLikelihood(data));
  EXPECT_TRUE(ThrowsInvalidArgument(
      [&] { FitMoe(data, Shape(GateKind::kSoftmax, 3, 1), options); }, {"initial_params[0]"}));
}

TEST(FitMoeTest, RejectsBadOptionsAndTooFewPoints) {
  const Dataset data = SoftmaxData(7, 1);
  FitOptions options;
  options.num_starts = -1;
  EXPECT_TRUE(ThrowsInvalidArgument([&] { options.Validate(); }, {"num_starts"}));
  options = FitOptions();
  options.num_threads = 0;
  EXPECT_TRUE(ThrowsInvalidArgument([&] { options.Validate(); }, {"num_threads"}));
  options = FitOptions();
  options.min_prior = 1.0;
  EXPECT_TRUE(ThrowsInvalidArgument([&] { options.Validate(); }, {"min_prior"}));
  EXPECT_TRUE(ThrowsInvalidArgument(
      [&] { FitMoe(data, Shape(GateKind::kSoftmax, 2, 1), FitOptions()); },
      {"n = 7", "8 free parameters"}));
  EXPECT_TRUE(ThrowsInvalidArgument([&] { ParseFitEstimator("gibbs"); }, {"em, mle, lse"}));
  EXPECT_EQ(ParseFitEstimator("mle"), FitEstimator::kMle);
}

}  // namespace
}  // namespace moelab
