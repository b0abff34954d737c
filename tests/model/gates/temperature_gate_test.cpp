#include "moelab/model/gates/temperature_gate.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "model/gates/gate_test_util.hpp"
#include "moelab/core/log_sum_exp.hpp"
#include "support/random_params.hpp"

namespace moelab {
namespace {

using testing::RandomCovariates;
using testing::RandomGate;

Matrix Weights(const GateParams& gate, const Matrix& X) {
  return ExpOfLog(GateLogWeights(gate, X));
}

TEST(TemperatureGateTest, IsTheSoftmaxOfScaledAffineScores) {
  Rng rng(401);
  const GateParams gate = RandomGate(GateKind::kTemperature, 3, 2, rng);
  const Matrix X = RandomCovariates(30, 2, rng);
  const Matrix w = Weights(gate, X);
  for (Index n = 0; n < X.rows(); ++n) {
    Vector e(3);
    for (Index i = 0; i < 3; ++i) {
      e[i] = std::exp((gate.slope.row(i).dot(X.row(n)) + gate.bias[i]) / gate.temperature);
    }
    // Non-log formula on logits of size < 20: 1e-14 absolute on weights.
    for (Index i = 0; i < 3; ++i) EXPECT_NEAR(w(n, i), e[i] / e.sum(), 1e-14);
  }
}

TEST(TemperatureGateTest, SmallTemperatureTendsToTheHardArgmax) {
  Rng rng(402);
  GateParams gate = RandomGate(GateKind::kTemperature, 4, 1, rng);
  // Rows whose best affine score leads the runner-up by at least 0.05.
  const Matrix candidates = RandomCovariates(200, 1, rng);
  Matrix scores = candidates * gate.slope.transpose();
  scores.rowwise() += gate.bias.transpose();
  std::vector<Index> rows;
  std::vector<Index> argmax;
  for (Index n = 0; n < candidates.rows(); ++n) {
    Vector s = scores.row(n).transpose();
    Index best;
    const double top = s.maxCoeff(&best);
    s[best] = -1e300;
    if (top - s.maxCoeff() >= 0.05) {
      rows.push_back(n);
      argmax.push_back(best);
    }
  }
  ASSERT_GE(rows.size(), 50u);
  Matrix X(static_cast<Index>(rows.size()), 1);
  for (std::size_t j = 0; j < rows.size(); ++j) X(static_cast<Index>(j), 0) = candidates(rows[j], 0);
  double previous = 2.0;
  for (double tau : {1.0, 0.1, 0.01, 1e-3, 1e-6}) {
    gate.temperature = tau;
    const Matrix w = Weights(gate, X);
    double distance = 0.0;  // max |g - one_hot(argmax)|
    for (Index n = 0; n < X.rows(); ++n) {
      for (Index i = 0; i < 4; ++i) {
        distance = std::max(distance, std::abs(w(n, i) - (i == argmax[n] ? 1.0 : 0.0)));
      }
    }
    EXPECT_LE(distance, previous) << "tau=" << tau;
    previous = distance;
    // Bound: 1 - g_max <= (k - 1) exp(-gap / tau) with gap >= 0.05.
    EXPECT_LE(distance, 3.0 * std::exp(-0.05 / tau) + 1e-15) << "tau=" << tau;
  }
  EXPECT_LT(previous, 1e-15);
}

TEST(TemperatureGateTest, LargeTemperatureTendsToUniform) {
  Rng rng(403);
  GateParams gate = RandomGate(GateKind::kTemperature, 5, 2, rng);
  const Matrix X = RandomCovariates(50, 2, rng);
  Matrix scores = X * gate.slope.transpose();
  scores.rowwise() += gate.bias.transpose();
  const double spread = scores.cwiseAbs().maxCoeff();
  for (double tau : {10.0, 1e3, 1e6}) {
    gate.temperature = tau;
    const Matrix w = Weights(gate, X);
    // |g_i - 1/k| <= (exp(2 spread / tau) - 1) / k: every logit lies within
    // spread / tau of the others.
    const double bound = std::expm1(2.0 * spread / tau) / 5.0;
    EXPECT_LE((w.array() - 0.2).abs().maxCoeff(), bound) << "tau=" << tau;
  }
}

TEST(TemperatureGateTest, JointScalingOfBetaAndTauIsASymmetry) {
  Rng rng(404);
  const GateParams gate = RandomGate(GateKind::kTemperature, 3, 2, rng);
  GateParams scaled = gate;
  scaled.bias *= 3.5;
  scaled.slope *= 3.5;
  scaled.temperature *= 3.5;
  const Matrix X = RandomCovariates(30, 2, rng);
  // Log weights of size < 20, a few roundings apart: 1e-13.
  EXPECT_LT((GateLogWeights(gate, X) - GateLogWeights(scaled, X)).cwiseAbs().maxCoeff(), 1e-13);
}

TEST(TemperatureGateTest, GradientMatchesFiniteDifferencesWithAndWithoutLogTau) {
  Rng rng(405);
  for (bool with_temperature : {false, true}) {
    for (double tau : {0.3, 1.0, 2.5}) {
      GateParams gate = RandomGate(GateKind::kTemperature, 3, 2, rng);
      gate.temperature = tau;
      const Matrix X = RandomCovariates(25, 2, rng);
      const Matrix R = testing::RandomResponsibilities(GateLogWeights(gate, X), rng);
      EXPECT_TRUE(testing::GradientMatchesFiniteDifferences(gate, X, R, with_temperature))
          << "tau=" << tau << " with_temperature=" << with_temperature;
    }
  }
}

}  // namespace
}  // namespace moelab
