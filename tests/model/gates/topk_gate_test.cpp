#include "moelab/model/gates/topk_gate.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "model/gates/gate_test_util.hpp"
#include "support/random_params.hpp"

namespace moelab {
namespace {

using testing::RandomCovariates;
using testing::RandomGate;

Matrix RankingScores(const GateParams& gate, const Matrix& X) {
  Matrix scores = X * gate.slope.transpose();
  if (gate.ranking == TopKRanking::kFullLogit) scores.rowwise() += gate.bias.transpose();
  return scores;
}

TEST(TopKIndicesTest, ReturnsTheLargestInDecreasingOrderWithLowerIndexOnTies) {
  const Vector scores = (Vector(6) << 0.5, 2.0, -1.0, 2.0, 0.5, 3.0).finished();
  std::vector<Index> selected;
  TopKIndices(scores, 4, &selected);
  EXPECT_EQ(selected, (std::vector<Index>{5, 1, 3, 0}));
  TopKIndices(scores, 6, &selected);
  EXPECT_EQ(selected, (std::vector<Index>{5, 1, 3, 0, 4, 2}));
}

TEST(TopKGateTest, SelectsExactlyKExpertsTheKLargestRankingScores) {
  Rng rng(301);
  for (TopKRanking ranking : {TopKRanking::kSlopeOnly, TopKRanking::kFullLogit}) {
    for (Index k : {1, 3, 5}) {
      for (int K = 1; K <= k; ++K) {
        const GateParams gate = RandomGate(GateKind::kTopK, k, 2, rng, K, ranking);
        const Matrix X = RandomCovariates(60, 2, rng);
        const Matrix log_w = GateLogWeights(gate, X);
        const Matrix scores = RankingScores(gate, X);
        for (Index n = 0; n < X.rows(); ++n) {
          int nonzero = 0;
          double lowest_selected = 1e300, highest_unselected = -1e300;
          for (Index i = 0; i < k; ++i) {
            if (std::exp(log_w(n, i)) > 0.0) {
              ++nonzero;
              lowest_selected = std::min(lowest_selected, scores(n, i));
            } else {
              ASSERT_EQ(log_w(n, i), kNegInf);
              highest_unselected = std::max(highest_unselected, scores(n, i));
            }
          }
          ASSERT_EQ(nonzero, K) << testing::Describe(gate) << " k=" << k << " row " << n;
          ASSERT_GE(lowest_selected, highest_unselected) << testing::Describe(gate);
        }
      }
    }
  }
}

TEST(TopKGateTest, WeightsAreTheSoftmaxOverTheSelectedExperts) {
  Rng rng(302);
  const GateParams gate = RandomGate(GateKind::kTopK, 4, 2, rng, 2, TopKRanking::kFullLogit);
  const Matrix X = RandomCovariates(40, 2, rng);
  const Matrix log_w = GateLogWeights(gate, X);
  for (Index n = 0; n < X.rows(); ++n) {
    double total = 0.0;
    Vector e = Vector::Zero(4);
    for (Index i = 0; i < 4; ++i) {
      if (log_w(n, i) == kNegInf) continue;
      e[i] = std::exp(gate.slope.row(i).dot(X.row(n)) + gate.bias[i]);
      total += e[i];
    }
    // Direct (non-log) restricted softmax of O(1) logits: 1e-14.
    for (Index i = 0; i < 4; ++i) EXPECT_NEAR(std::exp(log_w(n, i)), e[i] / total, 1e-14);
  }
}

TEST(TopKGateTest, SlopeOnlyTiesAtZeroGoToTheLowerIndices) {
  // At x = 0 every slope-only ranking score is 0, whatever the biases; the
  // biases below would favour the HIGH indices under full-logit ranking.
  Rng rng(303);
  for (int K = 1; K <= 4; ++K) {
    GateParams gate = RandomGate(GateKind::kTopK, 5, 2, rng, K, TopKRanking::kSlopeOnly);
    gate.bias = Vector::LinSpaced(5, -2.0, 2.0);
    const Matrix X = Matrix::Zero(1, 2);
    const Matrix log_w = GateLogWeights(gate, X);
    for (Index i = 0; i < 5; ++i) {
      EXPECT_EQ(log_w(0, i) != kNegInf, i < K) << "K=" << K << " expert " << i;
    }
    // Full-logit ranking at x = 0 with equal biases ties as well.
    gate.ranking = TopKRanking::kFullLogit;
    gate.bias.setConstant(0.3);
    const Matrix log_w_full = GateLogWeights(gate, X);
    for (Index i = 0; i < 5; ++i) EXPECT_EQ(log_w_full(0, i) != kNegInf, i < K);
  }
}

TEST(TopKGateTest, KEqualToKIsTheSoftmaxGate) {
  Rng rng(304);
  GateParams gate = RandomGate(GateKind::kTopK, 3, 2, rng, 3);
  GateParams softmax = gate;
  softmax.kind = GateKind::kSoftmax;
  const Matrix X = RandomCovariates(30, 2, rng);
  EXPECT_EQ(GateLogWeights(gate, X), GateLogWeights(softmax, X));
}

TEST(TopKGateTest, GradientWithFrozenSelectionMatchesFiniteDifferences) {
  Rng rng(305);
  for (TopKRanking ranking : {TopKRanking::kSlopeOnly, TopKRanking::kFullLogit}) {
    for (int K : {1, 2, 3}) {
      const GateParams gate = RandomGate(GateKind::kTopK, 4, 2, rng, K, ranking);
      // A difference step moves a ranking score by at most
      // 1e-5 * max(1,|theta|) * (1 + |x|_1) < 2e-4; keep rows with a wider gap.
      const Matrix X = testing::RowsAwayFromRankingTies(gate, RandomCovariates(60, 2, rng), 1e-2);
      ASSERT_GE(X.rows(), 20) << "too few rows away from ties";
      const Matrix R = testing::RandomResponsibilities(GateLogWeights(gate, X), rng);
      EXPECT_TRUE(testing::GradientMatchesFiniteDifferences(gate, X, R, false))
          << testing::Describe(gate);
    }
  }
}

}  // namespace
}  // namespace moelab
