#include "moelab/routing/learning_run.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <vector>

#include "moelab/estimators/em.hpp"
#include "moelab/metrics/voronoi_loss.hpp"
#include "support/expect_invalid.hpp"

namespace moelab {
namespace {

LearningRunOptions SmallOptions(std::uint64_t seed) {
  LearningRunOptions o;
  o.stream.num_experts = 4;
  o.stream.design = CovariateDesign{DesignKind::kNormal, 2, -1.0, 1.0};
  o.stream.batch_size = 128;
  o.stream.num_microbatches = 4;
  o.top_k = 2;
  o.num_steps = 400;
  o.seed = seed;
  o.learning_rate = 0.1;
  o.eval_tokens = 2048;
  o.eval_every = 50;
  o.metrics_every = 0;
  o.hellinger_max_x = 256;
  return o;
}

double D1(const MoeParams& truth, const MoeParams& fit) { return LearningD1(truth, fit); }

TEST(LearningRun, UnbalancedSgdIsWithinTwiceTheBatchEmLoss) {
  // Issue 17: with balancing off and from the data-driven start, the D1 of
  // the parameters after T steps is within 2x of that of a batch EM fit on
  // the same T B tokens from the same start. The start's own D1 is checked
  // to be far above the band, so a learner that does not move fails.
  for (std::uint64_t seed : {3u, 4u}) {
    const LearningSetup setup(SmallOptions(seed));
    const Dataset tokens = DrawTrainingTokens(setup, setup.options.num_steps);
    EmOptions em;
    em.max_iterations = 1000;
    const FitResult fit = FitEm(tokens, setup.start, em);
    const double d1_em = D1(setup.truth, fit.params);
    const double d1_start = D1(setup.truth, setup.start);
    const LearningResult run = RunLearning(setup, ResolvePolicy(ParseBalancingPolicy("none"), {}), nullptr);
    ASSERT_TRUE(run.finite);
    std::printf("  seed %llu: D1 start %.4f, EM (%s, %d it) %.4f, SGD %.4f; held-out NLL SGD %.4f, truth %.4f\n",
                static_cast<unsigned long long>(seed), d1_start, ToString(fit.termination), fit.iterations, d1_em,
                run.final_d1, run.final_heldout_nll, setup.truth_heldout_nll);
    EXPECT_GT(d1_start, 2.0 * d1_em);
    EXPECT_LE(run.final_d1, 2.0 * d1_em);
  }
}

TEST(LearningRun, AuxLossBalancesAndAlfPricesBalanceTheHeldOutSet) {
  // Direction only (the L1 reading of Wang et al. 2024, Fig. 2): against no
  // balancing, a large aux coefficient and ALF-LB both lower MaxVio_global.
  // The truth's gate has intercepts spread on [-1, 1], so the unbalanced fit
  // inherits a clear imbalance (MaxVio_global well above the sampling floor).
  LearningRunOptions o = SmallOptions(5);
  o.num_steps = 300;
  const LearningSetup setup(o);
  auto run = [&](const char* spec) {
    return RunLearning(setup, ResolvePolicy(ParseBalancingPolicy(spec), {}), nullptr);
  };
  const LearningResult none = run("none"), aux = run("aux-global@0.3"), alf = run("alf-const@0.01");
  std::printf("  MaxVio_global none %.3f, aux %.3f, alf %.3f; NLL %.4f %.4f %.4f\n", none.final_maxvio_global,
              aux.final_maxvio_global, alf.final_maxvio_global, none.final_heldout_nll, aux.final_heldout_nll,
              alf.final_heldout_nll);
  EXPECT_GT(none.final_maxvio_global, 0.2);
  EXPECT_LT(aux.final_maxvio_global, 0.7 * none.final_maxvio_global);
  EXPECT_LT(alf.final_maxvio_global, 0.5 * none.final_maxvio_global);
}

TEST(LearningRun, SameSeedSameNumbers) {
  LearningRunOptions o = SmallOptions(6);
  o.num_steps = 20;
  const LearningSetup a(o), b(o);
  const BalancingPolicy p = ResolvePolicy(ParseBalancingPolicy("alf-const+aux-seq@0.01"), {});
  const LearningResult ra = RunLearning(a, p, nullptr), rb = RunLearning(b, p, nullptr);
  EXPECT_EQ(ra.final_heldout_nll, rb.final_heldout_nll);
  EXPECT_EQ(ra.final_prices, rb.final_prices);
}

TEST(LearningRun, DynamicRegretFollowsItsDefinitionUnderDrift) {
  // A drifting stream, the dynamic regret every 10 steps. Checked: the
  // increments are F_t(p_t) - F_t(p*_t) >= 0 (p*_t is the LP optimum of the
  // same sample; the LP gap is ~1e-9 here), NaN between evaluations; the
  // running sum is the left Riemann sum of the increments; at step 0 both
  // policies have the same router (the start, p = 0) and so the same
  // increment; and ALF-LB's prices, which chase the moving optimum, keep the
  // regret well below no balancing (0.5x: measured 0.14x at this seed).
  LearningRunOptions o = SmallOptions(8);
  o.num_steps = 200;
  o.stream.drift_per_step = 0.005;
  o.dynamic_every = 10;
  o.dynamic_tokens = 512;
  const LearningSetup setup(o);
  auto run = [&](const char* spec, std::vector<LearningStepRecord>* records) {
    return RunLearning(setup, ResolvePolicy(ParseBalancingPolicy(spec), {}),
                       [records](const LearningStepRecord& r) { records->push_back(r); });
  };
  std::vector<LearningStepRecord> none_steps, alf_steps;
  const LearningResult none = run("none", &none_steps), alf = run("alf-const@0.03", &alf_steps);
  for (const auto* steps : {&none_steps, &alf_steps}) {
    ASSERT_EQ(steps->size(), 200u);
    double sum = 0.0;
    for (const LearningStepRecord& r : *steps) {
      if (r.step % 10 == 0) {
        ASSERT_TRUE(std::isfinite(r.dynamic_increment)) << "step " << r.step;
        EXPECT_GE(r.dynamic_increment, -1e-6) << "step " << r.step;
        sum += 10.0 * r.dynamic_increment;
      } else {
        EXPECT_TRUE(std::isnan(r.dynamic_increment)) << "step " << r.step;
      }
      EXPECT_NEAR(r.cumulative_dynamic_regret, sum, 1e-9 * (1.0 + sum)) << "step " << r.step;
    }
  }
  EXPECT_EQ(none_steps[0].dynamic_increment, alf_steps[0].dynamic_increment);
  EXPECT_GT(none_steps[0].dynamic_increment, 0.0);
  EXPECT_DOUBLE_EQ(none.final_dynamic_regret, none_steps.back().cumulative_dynamic_regret);
  std::printf("  dynamic regret: none %.2f, alf-const %.2f\n", none.final_dynamic_regret, alf.final_dynamic_regret);
  EXPECT_LT(alf.final_dynamic_regret, 0.5 * none.final_dynamic_regret);
  // Off by default: NaN.
  const LearningSetup off(SmallOptions(8));
  EXPECT_TRUE(std::isnan(RunLearning(off, ResolvePolicy(ParseBalancingPolicy("none"), {}), nullptr).final_dynamic_regret));
}

TEST(LearningRun, RejectsBadOptionsAndCombinations) {
  LearningRunOptions o = SmallOptions(7);
  o.top_k = 1;
  EXPECT_TRUE(testing::ThrowsInvalidArgument([&] { o.Validate(); }, {"top_k"}));
  o = SmallOptions(7);
  o.init_tokens = 10;
  EXPECT_TRUE(testing::ThrowsInvalidArgument([&] { o.Validate(); }, {"init_tokens"}));
  o = SmallOptions(7);
  o.dynamic_every = 5;
  o.top_k = 4;  // = E: no price to choose
  EXPECT_TRUE(testing::ThrowsInvalidArgument([&] { o.Validate(); }, {"dynamic_every", "top_k"}));
  o = SmallOptions(7);
  o.num_steps = 2;
  const LearningSetup setup(o);
  EXPECT_TRUE(testing::ThrowsInvalidArgument(
      [&] { RunLearning(setup, ResolvePolicy(ParseBalancingPolicy("alf-const-micro+aux-global"), {}), nullptr); },
      {"per-micro-batch"}));
}

}  // namespace
}  // namespace moelab
