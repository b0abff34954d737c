#include "moelab/routing/learning_loss.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "moelab/core/rng.hpp"
#include "moelab/model/gaussian_moe.hpp"
#include "support/expect_invalid.hpp"

namespace moelab {
namespace {

MoeParams RandomTopK(Index e, Index d, int K, Rng& rng) {
  MoeParams p;
  p.gate.kind = K < e ? GateKind::kTopK : GateKind::kSoftmax;
  p.gate.top_k = K < e ? K : 0;
  p.gate.ranking = TopKRanking::kFullLogit;
  p.gate.bias.resize(e);
  p.gate.slope.resize(e, d);
  p.experts.slope.resize(e, d);
  p.experts.intercept.resize(e);
  p.experts.variance.resize(e);
  for (Index i = 0; i < e; ++i) {
    p.gate.bias[i] = 0.5 * StandardNormal(rng);
    p.experts.intercept[i] = StandardNormal(rng);
    p.experts.variance[i] = 0.3 + 0.2 * std::abs(StandardNormal(rng));
    for (Index c = 0; c < d; ++c) {
      p.gate.slope(i, c) = StandardNormal(rng);
      p.experts.slope(i, c) = StandardNormal(rng);
    }
  }
  return p;
}

struct Problem {
  MoeParams params;
  Matrix X;
  Vector y, prices;
};

Problem MakeProblem(Index e, Index d, int K, Index n, std::uint64_t seed) {
  Rng rng(seed);
  Problem pr{RandomTopK(e, d, K, rng), Matrix(n, d), Vector(n), Vector(e)};
  for (Index t = 0; t < n; ++t) {
    for (Index c = 0; c < d; ++c) pr.X(t, c) = StandardNormal(rng);
    pr.y[t] = 2.0 * StandardNormal(rng);
  }
  for (Index j = 0; j < e; ++j) pr.prices[j] = 0.3 * StandardNormal(rng);
  return pr;
}

TEST(LearningLoss, PackUnpackRoundTrip) {
  const Problem pr = MakeProblem(5, 3, 2, 1, 3);
  const Vector theta = PackLearningParameters(pr.params);
  EXPECT_EQ(theta.size(), NumLearningParameters(5, 3));
  const MoeParams back = UnpackLearningParameters(theta, pr.params);
  EXPECT_TRUE(back.gate.slope.isApprox(pr.params.gate.slope));
  EXPECT_TRUE(back.experts.variance.isApprox(pr.params.experts.variance));
}

TEST(LearningLoss, NllWithoutPricesIsTheModelDensity) {
  // Independent check: GaussianMoe::LogDensities of the same top-K model
  // (full-logit ranking) with p = 0.
  const Problem pr = MakeProblem(6, 2, 2, 200, 4);
  LearningLossOptions o;
  o.top_k = 2;
  o.gradient = false;
  const LearningLoss l = EvaluateLearningLoss(PackLearningParameters(pr.params), 6, Vector::Zero(6), pr.X, pr.y, o);
  const double expected = -GaussianMoe(pr.params).LogDensities(pr.X, pr.y).mean();
  EXPECT_NEAR(l.nll, expected, 1e-12 * std::abs(expected));
  EXPECT_DOUBLE_EQ(l.loads.sum(), 400.0);
}

// Central differences on every coordinate; the routing must not change under
// the perturbation (the loss is smooth only between selection changes), and
// the test checks that it did not.
void CheckGradient(const Problem& pr, int K, const std::vector<AuxTerm>& aux, Index micro, Index seq) {
  const Index e = pr.params.num_experts();
  LearningLossOptions o;
  o.top_k = K;
  o.microbatch_size = micro;
  o.sequence_length = seq;
  o.aux = aux;
  const Vector theta = PackLearningParameters(pr.params);
  const LearningLoss at = EvaluateLearningLoss(theta, e, pr.prices, pr.X, pr.y, o);
  LearningLossOptions f = o;
  f.gradient = false;
  const double h = 1e-6;
  for (Index k = 0; k < theta.size(); ++k) {
    Vector tp = theta, tm = theta;
    tp[k] += h;
    tm[k] -= h;
    const LearningLoss lp = EvaluateLearningLoss(tp, e, pr.prices, pr.X, pr.y, f);
    const LearningLoss lm = EvaluateLearningLoss(tm, e, pr.prices, pr.X, pr.y, f);
    ASSERT_EQ(lp.routing.selected, at.routing.selected) << "selection changed at coordinate " << k;
    ASSERT_EQ(lm.routing.selected, at.routing.selected) << "selection changed at coordinate " << k;
    const double fd = (lp.total() - lm.total()) / (2 * h);
    // Central-difference error ~ h^2 f''' + eps |f| / h ~ 1e-10 for |f| ~ 1.
    EXPECT_NEAR(at.gradient[k], fd, 1e-7 + 1e-6 * std::abs(fd)) << "coordinate " << k;
  }
}

TEST(LearningLoss, GradientMatchesFiniteDifferencesNll) {
  CheckGradient(MakeProblem(6, 3, 2, 64, 5), 2, {}, 0, 0);
}

TEST(LearningLoss, GradientMatchesFiniteDifferencesSoftmax) {
  CheckGradient(MakeProblem(4, 2, 4, 64, 6), 4, {}, 0, 0);
}

TEST(LearningLoss, GradientMatchesFiniteDifferencesAuxAllLevels) {
  const std::vector<AuxTerm> aux = {{CountingLevel::kMicroBatch, 0.3},
                                    {CountingLevel::kSequence, 0.2},
                                    {CountingLevel::kGlobal, 0.5}};
  CheckGradient(MakeProblem(6, 3, 2, 64, 7), 2, aux, 16, 8);
}

TEST(LearningLoss, AuxIsSwitchLossAndPricesOnlySelect) {
  // All-equal logits: P uniform, so LBL = E sum f_i / E = 1 whatever the
  // loads (Switch's balanced value); coefficient 0.5 gives 0.5.
  Problem pr = MakeProblem(4, 2, 2, 32, 8);
  pr.params.gate.slope.setZero();
  pr.params.gate.bias.setZero();
  LearningLossOptions o;
  o.top_k = 2;
  o.aux = {{CountingLevel::kGlobal, 0.5}};
  o.gradient = false;
  const Vector theta = PackLearningParameters(pr.params);
  EXPECT_NEAR(EvaluateLearningLoss(theta, 4, pr.prices, pr.X, pr.y, o).aux, 0.5, 1e-14);
  // With equal logits the unbiased weights of any selected pair are 1/2.
  // Unequal prices that select the same pair as no prices (experts 0, 1, the
  // tie-break choice at p = 0) must give the same NLL: weighing with z - p
  // would give softmax(1, 0.5) instead.
  Vector p(4);
  p << -1.0, -0.5, 0.0, 0.0;
  o.aux.clear();
  const double with = EvaluateLearningLoss(theta, 4, p, pr.X, pr.y, o).nll;
  const double without = EvaluateLearningLoss(theta, 4, Vector::Zero(4), pr.X, pr.y, o).nll;
  EXPECT_DOUBLE_EQ(with, without);
}

TEST(LearningLoss, RejectsBadSizes) {
  const Problem pr = MakeProblem(4, 2, 2, 30, 9);
  LearningLossOptions o;
  o.aux = {{CountingLevel::kMicroBatch, 0.1}};
  o.microbatch_size = 8;  // does not divide 30
  const Vector theta = PackLearningParameters(pr.params);
  EXPECT_TRUE(testing::ThrowsInvalidArgument(
      [&] { EvaluateLearningLoss(theta, 4, pr.prices, pr.X, pr.y, o); }, {"micro", "divide"}));
  o.aux.clear();
  o.top_k = 5;
  EXPECT_TRUE(testing::ThrowsInvalidArgument(
      [&] { EvaluateLearningLoss(theta, 4, pr.prices, pr.X, pr.y, o); }, {"top_k"}));
}

}  // namespace
}  // namespace moelab
