#include "moelab/model/gates/normalised_sigmoid_gate.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "model/gates/gate_test_util.hpp"
#include "moelab/core/log_sum_exp.hpp"
#include "moelab/estimators/free_parameters.hpp"
#include "moelab/model/moe_params.hpp"
#include "support/expect_invalid.hpp"
#include "support/random_params.hpp"

namespace moelab {
namespace {

using testing::RandomCovariates;

GateParams SigmoidGate(Index k, Index d, int top_k, Rng& rng) {
  GateParams gate;
  gate.kind = GateKind::kNormalisedSigmoid;
  gate.bias = RandomCovariates(k, 1, rng).col(0);
  gate.slope = RandomCovariates(k, d, rng);
  gate.top_k = top_k;
  return gate;
}

double Sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

TEST(NormalisedSigmoidGateTest, MatchesTheDirectFormulaOverAllExpertsAndOverTheTopK) {
  Rng rng(901);
  for (int K : {0, 2}) {
    const GateParams gate = SigmoidGate(4, 2, K, rng);
    const Matrix X = RandomCovariates(40, 2, rng);
    const Matrix w = ExpOfLog(GateLogWeights(gate, X));
    for (Index n = 0; n < X.rows(); ++n) {
      Vector affinity(4);
      for (Index i = 0; i < 4; ++i) affinity[i] = Sigmoid(gate.slope.row(i).dot(X.row(n)) + gate.bias[i]);
      std::vector<Index> selected;
      TopKIndices(affinity, K == 0 ? 4 : K, &selected);
      double total = 0.0;
      for (Index i : selected) total += affinity[i];
      for (Index i = 0; i < 4; ++i) {
        const bool in = std::find(selected.begin(), selected.end(), i) != selected.end();
        // Direct formula on affinities in (0, 1): 1e-14 absolute.
        EXPECT_NEAR(w(n, i), in ? affinity[i] / total : 0.0, 1e-14) << "K=" << K;
      }
    }
  }
}

TEST(NormalisedSigmoidGateTest, StaysFiniteWhereTheAffinitiesSaturate) {
  Rng rng(902);
  const GateParams gate = SigmoidGate(3, 1, 0, rng);
  const Matrix X = RandomCovariates(50, 1, rng, -500.0, 500.0);  // |z| up to ~1000
  const Matrix log_w = GateLogWeights(gate, X);
  ASSERT_TRUE(log_w.allFinite());
  for (Index n = 0; n < X.rows(); ++n) EXPECT_NEAR(log_w.row(n).array().exp().sum(), 1.0, 1e-13);
}

TEST(NormalisedSigmoidGateTest, LogitGradientMatchesFiniteDifferences) {
  Rng rng(903);
  for (int K : {0, 2}) {
    for (Index d : {1, 3}) {
      const GateParams gate = SigmoidGate(4, d, K, rng);
      const Matrix X = RandomCovariates(30, d, rng);
      const Matrix R = testing::RandomResponsibilities(GateLogWeights(gate, X), rng);
      EXPECT_TRUE(testing::GradientMatchesFiniteDifferences(gate, X, R, false))
          << "K=" << K << " d=" << d;
    }
  }
}

TEST(NormalisedSigmoidGateTest, HasNoTranslationSymmetrySoNothingIsPinned) {
  Rng rng(904);
  const GateParams gate = SigmoidGate(3, 2, 0, rng);
  const Gate& g = GateOf(gate);
  EXPECT_EQ(g.Gauge(gate), GateGauge::kNone);
  // A common bias shift changes the weights (it would not for a softmax).
  GateParams shifted = gate;
  shifted.bias.array() += 1.0;
  const Matrix X = RandomCovariates(10, 2, rng);
  EXPECT_GT((GateLogWeights(shifted, X) - GateLogWeights(gate, X)).cwiseAbs().maxCoeff(), 1e-3);
  // So the gauge fixes nothing and every gate entry is free (none at k = 1).
  MoeParams params = testing::RandomMoe(gate, rng);
  const MoeParams normalised = NormaliseGauge(params);
  EXPECT_EQ(normalised.gate.bias, params.gate.bias);
  EXPECT_EQ(normalised.gate.slope, params.gate.slope);
  EXPECT_EQ(FreeGateEntries(gate, false).size(), 3u * 3u);
  EXPECT_TRUE(FreeGateEntries(SigmoidGate(1, 2, 0, rng), false).empty());
  EXPECT_EQ(g.AffineScale(gate), std::nullopt);
  EXPECT_EQ(g.TheoryKey(), "");
}

TEST(NormalisedSigmoidGateTest, MixingWeightIsTheAffinityAtTheOrigin) {
  Rng rng(905);
  const GateParams gate = SigmoidGate(3, 2, 0, rng);
  const GateAtoms atoms = GateOf(gate).MixingAtoms(gate, true);
  for (Index i = 0; i < 3; ++i) {
    EXPECT_NEAR(std::exp(atoms.log_weight[i]), Sigmoid(gate.bias[i]), 1e-15);
  }
  EXPECT_EQ(atoms.gate_slope, gate.slope);
  EXPECT_FALSE(atoms.temperature.has_value());
}

TEST(NormalisedSigmoidGateTest, TopKIsOptionalAndBounded) {
  Rng rng(906);
  GateParams gate = SigmoidGate(3, 1, 0, rng);
  EXPECT_NO_THROW(gate.Validate());
  gate.top_k = 3;
  EXPECT_NO_THROW(gate.Validate());
  gate.top_k = 4;
  EXPECT_TRUE(testing::ThrowsInvalidArgument([&] { gate.Validate(); }, {"gate.top_k", "[0, k = 3]"}));
  gate.top_k = -1;
  EXPECT_TRUE(testing::ThrowsInvalidArgument([&] { gate.Validate(); }, {"gate.top_k"}));
  EXPECT_EQ(ParseGateKind("normalised-sigmoid"), GateKind::kNormalisedSigmoid);
}

}  // namespace
}  // namespace moelab
