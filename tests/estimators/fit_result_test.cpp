// FitResult means the same for every estimator (fit_result.hpp): iterations
// are outer steps that produced a new iterate, evaluations are passes of the
// objective over the data, objective is what the estimator minimises, and
// variance_floor_hits counts experts whose returned variance is at the floor.
#include "moelab/estimators/fit_result.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "moelab/core/rng.hpp"
#include "moelab/estimators/em.hpp"
#include "moelab/estimators/lse_ceres.hpp"
#include "moelab/estimators/mle_nlopt.hpp"
#include "moelab/model/gaussian_moe.hpp"
#include "moelab/simulation/presets.hpp"
#include "moelab/simulation/simulate.hpp"

namespace moelab {
namespace {

struct Problem {
  Dataset data;
  MoeParams start;
};

Problem SoftmaxProblem(Index n) {
  const Preset preset = GetPreset("softmax-exact");
  Rng rng(31);
  Problem p{Simulate(preset.truth, preset.design, n, rng), preset.truth};
  p.start.gate.bias[0] += 0.5;  // near the truth, not at it
  p.start.experts.intercept[1] += 0.2;
  return p;
}

TEST(FitResultTest, ObjectiveIsWhatTheEstimatorMinimises) {
  const Problem p = SoftmaxProblem(800);
  const FitResult em = FitEm(p.data, p.start, EmOptions{});
  const FitResult mle = FitMleNlopt(p.data, p.start, MleNloptOptions{});
  const FitResult lse = FitLseCeres(p.data, p.start, LseCeresOptions{});
  for (const FitResult* fit : {&em, &mle, &lse}) ASSERT_TRUE(fit->IsUsable()) << fit->message;
  // EM and MLE: the negative log-likelihood (one sign for both).
  EXPECT_EQ(em.objective, -em.log_likelihood);
  EXPECT_EQ(mle.objective, -mle.log_likelihood);
  // LSE: the residual sum of squares of the regression function at its params.
  const Vector residual = p.data.y - GaussianMoe(lse.params).ConditionalMean(p.data.X);
  EXPECT_NEAR(lse.objective, residual.squaredNorm(), 1e-9 * lse.objective);
  // Lower is better for all three: each beats its own value at the start.
  EXPECT_LT(em.objective, -GaussianMoe(p.start).LogLikelihood(p.data));
  const Vector start_residual = p.data.y - GaussianMoe(p.start).ConditionalMean(p.data.X);
  EXPECT_LT(lse.objective, start_residual.squaredNorm());
}

TEST(FitResultTest, IterationsAreOuterStepsAndEvaluationsArePasses) {
  const Problem p = SoftmaxProblem(800);
  EmOptions em_options;
  em_options.record_history = true;
  const FitResult em = FitEm(p.data, p.start, em_options);
  MleNloptOptions mle_options;
  mle_options.record_history = true;
  const FitResult mle = FitMleNlopt(p.data, p.start, mle_options);
  LseCeresOptions lse_options;
  const FitResult lse = FitLseCeres(p.data, p.start, lse_options);
  // EM: one E-step at the start and at least one per iteration.
  EXPECT_EQ(em.history.size(), static_cast<std::size_t>(em.iterations) + 1);
  EXPECT_GE(em.evaluations, em.iterations + 1);
  // MLE: every improvement of the best point is an iteration (one history
  // entry each, numbered 1, 2, ...); evaluations include the rejected trials.
  EXPECT_EQ(mle.history.size(), static_cast<std::size_t>(mle.iterations));
  EXPECT_EQ(mle.history.back().iteration, mle.iterations);
  EXPECT_GT(mle.evaluations, mle.iterations);
  // LSE: accepted Levenberg-Marquardt steps, each after a residual evaluation.
  EXPECT_GE(lse.evaluations, lse.iterations);
  for (const FitResult* fit : {&em, &mle, &lse}) {
    EXPECT_GT(fit->iterations, 0) << fit->estimator;
    EXPECT_NE(fit->BriefReport().find(std::to_string(fit->evaluations) + " evaluations"),
              std::string::npos);
  }
}

TEST(FitResultTest, VarianceFloorHitsCountExpertsAtTheFloorForEveryEstimator) {
  // A floor above both true variances (0.09, 0.16): every expert ends on it.
  // The floor is relative to Var(y) (variance_floor.hpp); half of Var(y) is
  // far above 0.16 for this design (the experts' means span about 20).
  const Problem p = SoftmaxProblem(800);
  EmOptions em_options;
  em_options.variance_floor = 0.5;
  MleNloptOptions mle_options;
  mle_options.variance_floor = 0.5;
  ASSERT_GT(AbsoluteVarianceFloor(0.5, p.data.y), 0.16);
  const FitResult em = FitEm(p.data, p.start, em_options);
  const FitResult mle = FitMleNlopt(p.data, p.start, mle_options);
  EXPECT_EQ(em.variance_floor_hits, 2) << em.message;
  EXPECT_EQ(mle.variance_floor_hits, 2) << mle.message;
  EXPECT_EQ(CountVarianceFloorHits(em.params, AbsoluteVarianceFloor(0.5, p.data.y)), 2);
  // Without a binding floor: none, whatever happened at the start.
  const FitResult em_free = FitEm(p.data, p.start, EmOptions{});
  const FitResult mle_free = FitMleNlopt(p.data, p.start, MleNloptOptions{});
  EXPECT_EQ(em_free.variance_floor_hits, 0);
  EXPECT_EQ(mle_free.variance_floor_hits, 0);
  // LSE sets one common variance: all experts or none. Data on the experts'
  // lines exactly leave no residual, so the variance is floored for both.
  Problem exact = p;
  exact.data.y = GaussianMoe(p.start).ConditionalMean(p.data.X);
  const FitResult lse = FitLseCeres(exact.data, p.start, LseCeresOptions{});
  EXPECT_EQ(lse.variance_floor_hits, 2) << lse.message;
  EXPECT_EQ(FitLseCeres(p.data, p.start, LseCeresOptions{}).variance_floor_hits, 0);
}

TEST(FitResultTest, CountVarianceFloorHitsAllowsTheRoundingOfLogVariances) {
  MoeParams params = GetPreset("softmax-exact").truth;
  params.experts.variance[0] = std::exp(std::log(1e-3));  // within an ulp of 1e-3
  params.experts.variance[1] = 1.001e-3;
  EXPECT_EQ(CountVarianceFloorHits(params, 1e-3), 1);
}

}  // namespace
}  // namespace moelab
