#include "moelab/model/gates/activation_gate.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "model/gates/gate_test_util.hpp"
#include "moelab/core/log_sum_exp.hpp"
#include "support/random_params.hpp"

namespace moelab {
namespace {

using testing::RandomCovariates;
using testing::RandomGate;

double Act(Activation activation, double z) {
  switch (activation) {
    case Activation::kTanh: return std::tanh(z);
    case Activation::kSigmoid: return 1.0 / (1.0 + std::exp(-z));
    case Activation::kIdentity: return z;
  }
  return z;
}

TEST(ActivationGateTest, MatchesTheDirectFormulaForEveryActivation) {
  Rng rng(501);
  for (Activation a : {Activation::kTanh, Activation::kSigmoid, Activation::kIdentity}) {
    const GateParams gate = RandomGate(GateKind::kActivation, 3, 2, rng, 0,
                                       TopKRanking::kSlopeOnly, a);
    const Matrix X = RandomCovariates(30, 2, rng);
    const Matrix w = ExpOfLog(GateLogWeights(gate, X));
    for (Index n = 0; n < X.rows(); ++n) {
      Vector e(3);
      for (Index i = 0; i < 3; ++i) {
        e[i] = std::exp(Act(a, gate.slope.row(i).dot(X.row(n))) / gate.temperature + gate.bias[i]);
      }
      // Non-log formula on logits of size < 20: 1e-14 absolute.
      for (Index i = 0; i < 3; ++i) EXPECT_NEAR(w(n, i), e[i] / e.sum(), 1e-14) << ToString(a);
    }
  }
}

TEST(ActivationGateTest, IdentityIsATemperatureGateWithTheBiasOutside) {
  // softmax(beta1' x / tau + beta0) = softmax((beta1' x + tau beta0) / tau).
  Rng rng(502);
  const GateParams gate = RandomGate(GateKind::kActivation, 4, 3, rng, 0,
                                     TopKRanking::kSlopeOnly, Activation::kIdentity);
  GateParams temperature = gate;
  temperature.kind = GateKind::kTemperature;
  temperature.bias = gate.bias * gate.temperature;
  const Matrix X = RandomCovariates(40, 3, rng);
  // Log weights of size < 30, two algebraically equal routes: 1e-13.
  EXPECT_LT((GateLogWeights(gate, X) - GateLogWeights(temperature, X)).cwiseAbs().maxCoeff(),
            1e-13);
}

TEST(ActivationGateTest, DerivativeMatchesFiniteDifferencesOfTheActivation) {
  const Matrix z = Vector::LinSpaced(21, -4.0, 4.0);
  for (Activation a : {Activation::kTanh, Activation::kSigmoid, Activation::kIdentity}) {
    const Matrix analytic = ActivationDerivative(a, z);
    const double h = 1e-6;
    const Matrix numeric = (ApplyActivation(a, (z.array() + h).matrix()) -
                            ApplyActivation(a, (z.array() - h).matrix())) / (2.0 * h);
    // Central difference: h^2 |act'''| / 6 + eps / h < 1e-9.
    EXPECT_LT((analytic - numeric).cwiseAbs().maxCoeff(), 1e-9) << ToString(a);
  }
}

TEST(ActivationGateTest, GradientMatchesFiniteDifferencesWithAndWithoutLogTau) {
  Rng rng(503);
  for (Activation a : {Activation::kTanh, Activation::kSigmoid, Activation::kIdentity}) {
    for (bool with_temperature : {false, true}) {
      const GateParams gate = RandomGate(GateKind::kActivation, 3, 2, rng, 0,
                                         TopKRanking::kSlopeOnly, a);
      const Matrix X = RandomCovariates(25, 2, rng);
      const Matrix R = testing::RandomResponsibilities(GateLogWeights(gate, X), rng);
      EXPECT_TRUE(testing::GradientMatchesFiniteDifferences(gate, X, R, with_temperature))
          << ToString(a) << " with_temperature=" << with_temperature;
    }
  }
}

}  // namespace
}  // namespace moelab
