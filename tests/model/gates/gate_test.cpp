// Properties every gate must have, checked through the one gate interface.
#include "moelab/model/gates/gate.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "model/gates/gate_test_util.hpp"
#include "moelab/core/log_sum_exp.hpp"
#include "support/expect_invalid.hpp"
#include "support/random_params.hpp"

namespace moelab {
namespace {

using testing::Describe;
using testing::EveryGate;
using testing::RandomCovariates;

// Covariate sets: moderate, large (logits in the hundreds), and one that
// contains x = 0 (every slope-only ranking score ties there).
std::vector<Matrix> CovariateSets(Index d, Rng& rng) {
  Matrix with_zero = RandomCovariates(20, d, rng);
  with_zero.row(0).setZero();
  return {RandomCovariates(50, d, rng), RandomCovariates(50, d, rng, -60.0, 60.0), with_zero};
}

TEST(GateLogWeightsTest, EveryGateGivesProbabilityVectors) {
  Rng rng(101);
  for (Index k : {1, 2, 3, 5}) {
    for (Index d : {1, 3}) {
      for (int draw = 0; draw < 3; ++draw) {
        for (const GateParams& gate : EveryGate(k, d, rng)) {
          for (const Matrix& X : CovariateSets(d, rng)) {
            const Matrix log_w = GateLogWeights(gate, X);
            ASSERT_EQ(log_w.rows(), X.rows());
            ASSERT_EQ(log_w.cols(), k);
            for (Index n = 0; n < X.rows(); ++n) {
              for (Index i = 0; i < k; ++i) {
                ASSERT_FALSE(std::isnan(log_w(n, i))) << Describe(gate);
                ASSERT_LE(log_w(n, i), 0.0) << Describe(gate);
                // -inf only where a sparse gate leaves an expert out.
                if (gate.kind != GateKind::kTopK) {
                  ASSERT_NE(log_w(n, i), kNegInf) << Describe(gate);
                }
              }
              // exp of a normalised log row sums to one up to a few ulps
              // (k terms, each rounded once): 1e-13.
              ASSERT_NEAR(log_w.row(n).array().exp().sum(), 1.0, 1e-13)
                  << Describe(gate) << " k=" << k << " row " << n;
            }
          }
        }
      }
    }
  }
}

TEST(GateObjectiveTest, EqualsTheWeightedSumOfLogWeights) {
  Rng rng(102);
  for (const GateParams& gate : EveryGate(4, 2, rng)) {
    const Matrix X = RandomCovariates(30, 2, rng);
    const Matrix log_w = GateLogWeights(gate, X);
    const Matrix R = testing::RandomResponsibilities(log_w, rng);
    double direct = 0.0;
    for (Index n = 0; n < X.rows(); ++n)
      for (Index i = 0; i < 4; ++i)
        if (R(n, i) > 0.0) direct += R(n, i) * log_w(n, i);
    // Same terms summed in a different order: 1e-12 relative.
    EXPECT_NEAR(GateObjective(gate, X, R), direct, 1e-12 * std::abs(direct)) << Describe(gate);
  }
}

TEST(GateObjectiveTest, MassOnAnUnselectedExpertGivesMinusInfinity) {
  Rng rng(103);
  const GateParams gate = testing::RandomGate(GateKind::kTopK, 3, 1, rng, 1);
  const Matrix X = RandomCovariates(5, 1, rng);
  const Matrix log_w = GateLogWeights(gate, X);
  Matrix R = Matrix::Zero(5, 3);
  for (Index i = 0; i < 3; ++i) {
    if (log_w(0, i) == kNegInf) {
      R(0, i) = 1.0;
      break;
    }
  }
  EXPECT_EQ(GateObjective(gate, X, R), kNegInf);
}

TEST(PackGateTest, UnpackInvertsPack) {
  Rng rng(104);
  for (const GateParams& gate : EveryGate(3, 2, rng)) {
    for (bool with_temperature : {false, true}) {
      const Vector packed = PackGate(gate, with_temperature);
      EXPECT_EQ(packed.size(), PackedGateSize(3, 2, with_temperature));
      // Layout: expert i occupies [i (d + 1), (i + 1)(d + 1)) as (beta0_i, beta1_i).
      EXPECT_EQ(packed[1 * 3 + 0], gate.bias[1]);
      EXPECT_EQ(packed[1 * 3 + 2], gate.slope(1, 1));
      if (with_temperature) {
        EXPECT_DOUBLE_EQ(packed[9], std::log(gate.temperature));
      }
      GateParams unpacked = gate;
      unpacked.bias.setZero();
      unpacked.slope.setZero();
      unpacked.temperature = 123.0;
      UnpackGate(packed, with_temperature, &unpacked);
      EXPECT_EQ(unpacked.bias, gate.bias);
      EXPECT_EQ(unpacked.slope, gate.slope);
      if (with_temperature) {
        // exp(log(tau)) is tau up to two roundings.
        EXPECT_NEAR(unpacked.temperature, gate.temperature, 4e-16 * gate.temperature);
      } else {
        EXPECT_EQ(unpacked.temperature, 123.0);
      }
    }
  }
}

TEST(PackGateTest, UnpackRejectsAWrongLength) {
  Rng rng(105);
  GateParams gate = testing::RandomGate(GateKind::kSoftmax, 3, 2, rng);
  const Vector too_short = Vector::Zero(8);
  EXPECT_TRUE(testing::ThrowsInvalidArgument([&] { UnpackGate(too_short, false, &gate); },
                                             {"UnpackGate", "packed gate vector"}));
}

TEST(GateObjectiveGradientTest, SoftmaxIgnoresAPackedTemperature) {
  // A softmax gate has no tau: with_temperature adds an entry whose gradient
  // is zero (and the finite difference agrees).
  Rng rng(106);
  const GateParams gate = testing::RandomGate(GateKind::kSoftmax, 3, 2, rng);
  const Matrix X = RandomCovariates(25, 2, rng);
  const Matrix R = testing::RandomResponsibilities(GateLogWeights(gate, X), rng);
  const Vector gradient = GateObjectiveGradient(gate, X, R, true);
  EXPECT_EQ(gradient[gradient.size() - 1], 0.0);
  EXPECT_TRUE(testing::GradientMatchesFiniteDifferences(gate, X, R, true));
}

}  // namespace
}  // namespace moelab
