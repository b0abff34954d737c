#include "moelab/routing/dynamic_regret.hpp"

#include <gtest/gtest.h>

#include "moelab/routing/load_balance_run.hpp"
#include "support/expect_invalid.hpp"

namespace moelab {
namespace {

// Every token has the same logits beta0 = (-1, -1/3, 1/3, 1) (slope 0,
// logit scores, no noise), whatever the drift. With K = 1 and B tokens:
// F_t(p) = B max_j (s_j - p_j) + (B / E) sum_j p_j, minimised where all
// s_j - p_j are equal: F_t(p*) = B mean(s) = 0, F_t(0) = B max(s) = B.
LoadBalanceOptions ConstantScoreStream() {
  LoadBalanceOptions o;
  o.stream.num_experts = 4;
  o.stream.design = CovariateDesign{DesignKind::kNormal, 2, -1.0, 1.0};
  o.stream.score_function = ScoreFunction::kLogit;
  o.stream.slope_scale = 0.0;
  o.stream.offset_scale = 1.0;
  o.stream.batch_size = 64;
  o.stream.drift_per_step = 0.05;
  o.router.top_k = 1;
  o.num_steps = 50;
  o.regret.kind = RegretReferenceKind::kNone;
  o.dynamic = {256, 5};
  return o;
}

TEST(DynamicRegret, KnownAnswerForNoBalancingAndForTheOptimalPrice) {
  const LoadBalanceOptions o = ConstantScoreStream();
  const LoadBalanceSetup setup(o);
  ASSERT_TRUE(setup.dynamic);
  const auto& opt = setup.dynamic->OptimumAt(7);
  EXPECT_NEAR(opt.value, 0.0, 1e-9);
  EXPECT_NEAR(setup.dynamic->Increment(7, Vector::Zero(4)), 64.0, 1e-9);
  // p* = s - mean(s): regret 0; a common shift changes nothing.
  Vector p(4);
  p << -1.0, -1.0 / 3, 1.0 / 3, 1.0;
  EXPECT_NEAR(setup.dynamic->Increment(20, p), 0.0, 1e-9);
  EXPECT_NEAR(setup.dynamic->Increment(20, (p.array() + 3.0).matrix()), 0.0, 1e-9);
  // Run 'none' for 50 steps, evaluated every 5 steps: 10 evaluations x 5 x 64.
  const LoadBalanceResult none = RunLoadBalance(setup, BalancerOptions{}, "none", nullptr);
  ASSERT_EQ(none.cumulative_dynamic_regret.size(), 50u);
  EXPECT_NEAR(none.cumulative_dynamic_regret.back(), 50.0 * 64.0, 1e-6);
}

TEST(DynamicRegret, DecayingStepsStopTrackingADriftingOptimum) {
  // A drifting sigmoid-score stream (E = 8, K = 2): the best price moves
  // every step. A constant ALF-LB step keeps tracking it; 1/t steps freeze,
  // so their dynamic regret per step grows late in the run (online convex
  // optimisation's prediction for decaying steps). Direction only, on one seed: the gap is large (factor > 2).
  LoadBalanceOptions o;
  o.stream.num_experts = 8;
  o.stream.design = CovariateDesign{DesignKind::kNormal, 4, -1.0, 1.0};
  o.stream.score_function = ScoreFunction::kSigmoid;
  o.stream.batch_size = 128;
  o.stream.drift_per_step = 1e-3;
  o.router.top_k = 2;
  o.num_steps = 2000;
  o.regret.kind = RegretReferenceKind::kNone;
  o.dynamic = {1024, 50};
  const LoadBalanceSetup setup(o);
  BalancerOptions alf;
  alf.kind = BalancerKind::kDualSubgradient;
  alf.rate = 1e-3;
  BalancerOptions inv = alf;
  inv.update = DualUpdate::kLinear;
  inv.schedule = StepSchedule::kInverse;
  inv.rate = 8.0 / (128 * 2);
  const auto late = [](const LoadBalanceResult& r) {
    return r.cumulative_dynamic_regret.back() - r.cumulative_dynamic_regret[r.cumulative_dynamic_regret.size() / 2];
  };
  const double r_alf = late(RunLoadBalance(setup, alf, "alf-const", nullptr));
  const double r_inv = late(RunLoadBalance(setup, inv, "alf-inv", nullptr));
  std::printf("  second-half dynamic regret: alf-const %.2f, alf-inv %.2f\n", r_alf, r_inv);
  EXPECT_GT(r_inv, 2.0 * r_alf);
}

TEST(DynamicRegret, RejectsRoutersWithoutADual) {
  LoadBalanceOptions o = ConstantScoreStream();
  o.router.kind = RouterKind::kTopP;
  EXPECT_TRUE(testing::ThrowsInvalidArgument([&] { LoadBalanceSetup s(o); }, {"top-K"}));
}

}  // namespace
}  // namespace moelab
