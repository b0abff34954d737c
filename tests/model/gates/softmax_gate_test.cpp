#include "moelab/model/gates/softmax_gate.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "model/gates/gate_test_util.hpp"
#include "moelab/core/log_sum_exp.hpp"
#include "support/random_params.hpp"

namespace moelab {
namespace {

using testing::RandomCovariates;
using testing::RandomGate;

TEST(SoftmaxGateTest, MatchesTheDirectSoftmaxFormula) {
  Rng rng(201);
  const GateParams gate = RandomGate(GateKind::kSoftmax, 3, 2, rng);
  const Matrix X = RandomCovariates(40, 2, rng);
  const Matrix weights = ExpOfLog(GateLogWeights(gate, X));
  for (Index n = 0; n < X.rows(); ++n) {
    // Not in log space: exp(beta1_i' x + beta0_i) / sum_j exp(...), fine for
    // logits in [-6, 6].
    Vector e(3);
    for (Index i = 0; i < 3; ++i) e[i] = std::exp(gate.slope.row(i).dot(X.row(n)) + gate.bias[i]);
    // Both sides are O(1) after a few roundings: 1e-14.
    for (Index i = 0; i < 3; ++i) EXPECT_NEAR(weights(n, i), e[i] / e.sum(), 1e-14);
  }
}

TEST(SoftmaxGateTest, CommonTranslationLeavesTheWeightsUnchanged) {
  Rng rng(202);
  const GateParams gate = RandomGate(GateKind::kSoftmax, 4, 3, rng);
  GateParams shifted = gate;
  const Vector t1 = RandomCovariates(1, 3, rng).row(0).transpose();
  shifted.bias.array() += 0.7;
  shifted.slope.rowwise() += t1.transpose();
  const Matrix X = RandomCovariates(30, 3, rng);
  // Log weights of size O(10): 1e-13 absolute covers the changed rounding.
  EXPECT_TRUE(GateLogWeights(gate, X).isApprox(GateLogWeights(shifted, X), 1e-13) ||
              (GateLogWeights(gate, X) - GateLogWeights(shifted, X)).cwiseAbs().maxCoeff() < 1e-13);
}

TEST(SoftmaxGateTest, GradientMatchesFiniteDifferences) {
  Rng rng(203);
  for (Index k : {1, 2, 4}) {
    for (Index d : {1, 3}) {
      const GateParams gate = RandomGate(GateKind::kSoftmax, k, d, rng);
      const Matrix X = RandomCovariates(25, d, rng);
      const Matrix R = testing::RandomResponsibilities(GateLogWeights(gate, X), rng);
      EXPECT_TRUE(testing::GradientMatchesFiniteDifferences(gate, X, R, false))
          << "k=" << k << " d=" << d;
    }
  }
}

}  // namespace
}  // namespace moelab
