#include "moelab/routing/aux_loss.hpp"

#include <gtest/gtest.h>

#include "moelab/core/rng.hpp"
#include "moelab/routing/score_function.hpp"
#include "support/expect_invalid.hpp"
#include "support/test_util.hpp"

namespace moelab {
namespace {

TEST(SwitchAuxLoss, GradientMatchesFiniteDifferencesForEveryScoreFunction) {
  // The routing (hence f) is held fixed, as in training (f is a count); the
  // loss is then smooth in theta. h = 1e-5 central differences: error
  // ~1e-10; tolerance 1e-7 relative. Every counting level (group size).
  Rng rng(1);
  const Index B = 24, E = 6;
  Matrix z(B, E);
  for (Index t = 0; t < B; ++t)
    for (Index j = 0; j < E; ++j) z(t, j) = StandardNormal(rng);
  RouterOptions ro;
  ro.top_k = 2;
  const RoutingResult routing = Route(ro, z, Vector::Zero(E));
  for (auto f : {ScoreFunction::kSoftmax, ScoreFunction::kSigmoid, ScoreFunction::kSqrtSoftplus}) {
    for (Index group : {Index{4}, Index{12}, Index{24}}) {
      auto loss = [&](const Vector& theta) {
        Matrix shifted = z;
        shifted.rowwise() += theta.transpose();
        Matrix probs, factors;
        AuxProbabilities(f, shifted, &probs, &factors);
        return SwitchAuxLoss(routing, probs, factors, group);
      };
      Vector theta(E);
      for (Index j = 0; j < E; ++j) theta[j] = 0.3 * StandardNormal(rng);
      const Vector fd = testing::CentralDifferenceGradient([&](const Vector& x) { return loss(x).loss; }, theta);
      EXPECT_LT((fd - loss(theta).gradient).norm(), 1e-7 * (1.0 + fd.norm()))
          << ToString(f) << " group " << group;
    }
  }
}

TEST(SwitchAuxLoss, BalancedValueIsOne) {
  // docs/theory.md §7.9: uniform f and uniform P give LBL = 1 and a zero gradient.
  const Index E = 4;
  Matrix z = Matrix::Zero(8, E);
  RouterOptions ro;
  ro.kind = RouterKind::kGroupedTopK;  // one expert per group of 1: each token picks all 4
  ro.top_k = 4;
  ro.num_groups = 4;
  const RoutingResult routing = Route(ro, z, Vector::Zero(E));
  Matrix probs, factors;
  AuxProbabilities(ScoreFunction::kSoftmax, z, &probs, &factors);
  const AuxLossEvaluation lbl = SwitchAuxLoss(routing, probs, factors, 8);
  EXPECT_NEAR(lbl.loss, 1.0, 1e-15);
  EXPECT_LT(lbl.gradient.norm(), 1e-15);
}

TEST(SwitchAuxLoss, RejectsAGroupSizeThatDoesNotDivideTheBatch) {
  Matrix p = Matrix::Constant(6, 3, 1.0 / 3);
  RouterOptions ro;
  ro.top_k = 1;
  const RoutingResult routing = Route(ro, p, Vector::Zero(3));
  EXPECT_TRUE(testing::ThrowsInvalidArgument([&] { SwitchAuxLoss(routing, p, p, 4); }, {"group_size (4)"}));
}

TEST(ScoreFunction, ValuesAndNames) {
  Matrix z(1, 3);
  z << 0.0, 1.0, -2.0;
  const Matrix sm = ApplyScoreFunction(ScoreFunction::kSoftmax, z);
  EXPECT_NEAR(sm.sum(), 1.0, 1e-15);
  EXPECT_NEAR(ApplyScoreFunction(ScoreFunction::kSigmoid, z)(0, 0), 0.5, 1e-15);
  EXPECT_NEAR(ApplyScoreFunction(ScoreFunction::kSqrtSoftplus, z)(0, 0), std::sqrt(std::log(2.0)), 1e-15);
  EXPECT_EQ(ApplyScoreFunction(ScoreFunction::kLogit, z), z);
  for (auto f : {ScoreFunction::kSoftmax, ScoreFunction::kSigmoid, ScoreFunction::kSqrtSoftplus,
                 ScoreFunction::kLogit})
    EXPECT_EQ(ParseScoreFunction(ToString(f)), f);
  EXPECT_TRUE(testing::ThrowsInvalidArgument([] { ParseScoreFunction("relu"); }, {"relu", "sigmoid"}));
}

}  // namespace
}  // namespace moelab
