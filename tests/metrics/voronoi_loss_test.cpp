#include "moelab/metrics/voronoi_loss.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "metrics/metrics_test_util.hpp"
#include "moelab/simulation/presets.hpp"
#include "support/expect_invalid.hpp"
#include "support/random_params.hpp"

namespace moelab {
namespace {

using testing::Moe1d;
using testing::SplitAtom;
using testing::ThrowsInvalidArgument;

VoronoiLossOptions Opt(VoronoiGauge gauge, VoronoiLossKind kind = VoronoiLossKind::kAuto) {
  VoronoiLossOptions o;
  o.gauge = gauge;
  o.kind = kind;
  return o;
}

constexpr VoronoiGauge kRef = VoronoiGauge::kReferenceExpert;
constexpr VoronoiGauge kInfimum = VoronoiGauge::kTranslationInfimum;

// A copy of `p` with every parameter moved by `scale` N(0, 1) (variances by
// |.|, so they stay positive; temperatures multiplicatively).
MoeParams Perturb(const MoeParams& p, double scale, Rng& rng) {
  MoeParams out = p;
  auto jiggle = [&](auto& m) {
    for (Index r = 0; r < m.rows(); ++r)
      for (Index c = 0; c < m.cols(); ++c) m(r, c) += scale * StandardNormal(rng);
  };
  jiggle(out.gate.bias);
  jiggle(out.gate.slope);
  jiggle(out.experts.slope);
  jiggle(out.experts.intercept);
  for (Index i = 0; i < out.num_experts(); ++i) {
    out.experts.variance[i] += scale * std::abs(StandardNormal(rng));
  }
  if (out.gate.uses_temperature()) out.gate.temperature *= std::exp(scale * StandardNormal(rng));
  return out;
}

// ---------------------------------------------------------------- hand cases

TEST(VoronoiLossTest, HandComputedD1OnTheDemystTruth) {
  const MoeParams truth = GetPreset("softmax-exact").truth;
  const MoeParams fit = Moe1d({-7.5, 0}, {24, 0}, {-19.5, 20.2}, {15.1, -5.3}, {0.1, 0.15});
  const VoronoiLossResult r = ComputeVoronoiLoss(truth, fit);
  EXPECT_EQ(r.kind, VoronoiLossKind::kD1);
  // Atom 0 -> true 0: |Δbeta1| + |Δa| + |Δb| + |Δvar| = 1 + 0.5 + 0.1 + 0.01;
  // atom 1 -> true 1: 0 + 0.2 + 0.3 + 0.01; weight terms |e^-7.5 - e^-8| and 0.
  const double expected = std::abs(std::exp(-7.5) - std::exp(-8.0)) +
                          std::exp(-7.5) * (1.0 + 0.5 + 0.1 + 0.01) + 1.0 * (0.2 + 0.3 + 0.01);
  EXPECT_NEAR(r.value, expected, 1e-12);
  EXPECT_NEAR(r.weight_term, std::abs(std::exp(-7.5) - std::exp(-8.0)), 1e-15);
  EXPECT_EQ(r.cells.assignment[0], 0);
  EXPECT_EQ(r.cells.assignment[1], 1);
}

TEST(VoronoiLossTest, HandComputedD2WithOneCellOfTwoUsesExponentsFourAndTwo) {
  const MoeParams truth = Moe1d({0}, {0}, {1}, {0.5}, {1});
  const MoeParams fit = Moe1d({-0.5, 0}, {0.2, 0}, {1.1, 0.8}, {0.4, 0.7}, {1.3, 0.9});
  const VoronoiLossResult r = ComputeVoronoiLoss(truth, fit);
  EXPECT_EQ(r.kind, VoronoiLossKind::kD2);
  ASSERT_EQ(r.cells.size(0), 2);
  // rbar(2) = 4 on beta1 and b, rbar/2 = 2 on a and the variance.
  const double expected = std::exp(-0.5) +  // |e^-0.5 + 1 - 1|
                          std::exp(-0.5) * (std::pow(0.2, 4) + std::pow(0.1, 2) +
                                            std::pow(0.1, 4) + std::pow(0.3, 2)) +
                          1.0 * (0.0 + std::pow(0.2, 2) + std::pow(0.2, 4) + std::pow(0.1, 2));
  EXPECT_NEAR(r.value, expected, 1e-12);
}

TEST(VoronoiLossTest, HandComputedD2WithOneCellOfThreeUsesExponentsSixAndThree) {
  const MoeParams truth = Moe1d({0}, {0}, {1}, {0.5}, {1});
  const MoeParams fit =
      Moe1d({-0.5, -1, 0}, {0.2, -0.1, 0}, {1.1, 0.8, 1.0}, {0.4, 0.7, 0.5}, {1.3, 0.9, 1.0});
  const VoronoiLossResult r = ComputeVoronoiLoss(truth, fit);
  const double expected =
      std::exp(-0.5) + std::exp(-1.0) +
      std::exp(-0.5) * (std::pow(0.2, 6) + std::pow(0.1, 3) + std::pow(0.1, 6) + std::pow(0.3, 3)) +
      std::exp(-1.0) * (std::pow(0.1, 6) + std::pow(0.2, 3) + std::pow(0.2, 6) + std::pow(0.1, 3));
  EXPECT_NEAR(r.value, expected, 1e-12);
}

TEST(VoronoiLossTest, CellOfFourNeedsAnRbarOverride) {
  const MoeParams truth = Moe1d({0}, {0}, {1}, {0.5}, {1});
  const MoeParams fit =
      Moe1d({-0.5, -1, -2, 0}, {0.2, -0.1, 0.1, 0}, {1.1, 0.8, 1.0, 1.0}, {0.4, 0.7, 0.5, 0.6},
            {1.3, 0.9, 1.0, 1.0});
  EXPECT_TRUE(ThrowsInvalidArgument([&] { ComputeVoronoiLoss(truth, fit); },
                                    {"4 fitted atoms", "rbar_overrides[4]"}));
  VoronoiLossOptions o;
  o.rbar_overrides[4] = 8.0;
  const VoronoiLossResult r = ComputeVoronoiLoss(truth, fit, o);
  const double expected =
      std::exp(-0.5) + std::exp(-1.0) + std::exp(-2.0) +
      std::exp(-0.5) * (std::pow(0.2, 8) + std::pow(0.1, 4) + std::pow(0.1, 8) + std::pow(0.3, 4)) +
      std::exp(-1.0) * (std::pow(0.1, 8) + std::pow(0.2, 4) + std::pow(0.2, 8) + std::pow(0.1, 4)) +
      std::exp(-2.0) * (std::pow(0.1, 8) + 0.0 + 0.0 + 0.0) +
      1.0 * (0.0 + 0.0 + std::pow(0.1, 8) + 0.0);
  EXPECT_NEAR(r.value, expected, 1e-12);
}

TEST(VoronoiLossTest, NormChoiceL1VersusEuclideanInTwoDimensions) {
  MoeParams truth;
  truth.gate.bias = testing::V({0});
  truth.gate.slope = Matrix::Zero(1, 2);
  truth.experts.slope = Matrix(1, 2);
  truth.experts.slope << 1.0, 2.0;
  truth.experts.intercept = testing::V({0});
  truth.experts.variance = testing::V({1});
  MoeParams fit = truth;
  fit.experts.slope << 1.3, 1.6;  // Δa = (0.3, -0.4): L1 0.7, Euclidean 0.5
  fit.experts.intercept[0] = 0.1;
  fit.experts.variance[0] = 1.2;
  VoronoiLossOptions o;
  EXPECT_NEAR(ComputeVoronoiLoss(truth, fit, o).value, 0.7 + 0.1 + 0.2, 1e-12);
  o.norm = VoronoiNorm::kEuclidean;
  EXPECT_NEAR(ComputeVoronoiLoss(truth, fit, o).value, 0.5 + 0.1 + 0.2, 1e-12);
}

// Three equally weighted atoms; the fit moves the gate slopes of the first two
// by delta. Reference gauge (last atom fixed): 2 delta. Infimum: shifting all
// slopes by -delta leaves only the reference atom off by delta.
TEST(VoronoiLossTest, HandComputedInfimumOverTheSlopeTranslation) {
  const double delta = 0.1;
  const MoeParams truth = Moe1d({0, 0, 0}, {2, 1, 0}, {1, 2, 3}, {0, 1, 2}, {1, 1, 1});
  const MoeParams fit =
      Moe1d({0, 0, 0}, {2 + delta, 1 + delta, 0}, {1, 2, 3}, {0, 1, 2}, {1, 1, 1});
  EXPECT_NEAR(ComputeVoronoiLoss(truth, fit, Opt(kRef)).value, 2 * delta, 1e-12);
  const VoronoiLossResult r = ComputeVoronoiLoss(truth, fit, Opt(kInfimum));
  EXPECT_NEAR(r.value, delta, 1e-12);
  EXPECT_NEAR(r.shift_gate_slope[0], -delta, 1e-12);
  EXPECT_NEAR(r.shift_log_weight, 0.0, 1e-15);
}

// Weights (2, 1) against (1, 1): the reference gauge keeps the scale, giving
// |2 - 1| = 1; the infimum rescales by u = 1/2: |1 - 1| + |1/2 - 1| = 1/2.
TEST(VoronoiLossTest, HandComputedInfimumOverTheWeightScaleIsExact) {
  const MoeParams truth = Moe1d({0, 0}, {1, 0}, {1, 2}, {0, 1}, {1, 1});
  const MoeParams fit = Moe1d({std::log(2.0), 0}, {1, 0}, {1, 2}, {0, 1}, {1, 1});
  EXPECT_NEAR(ComputeVoronoiLoss(truth, fit, Opt(kRef)).value, 1.0, 1e-12);
  const VoronoiLossResult r = ComputeVoronoiLoss(truth, fit, Opt(kInfimum));
  EXPECT_NEAR(r.value, 0.5, 1e-12);
  EXPECT_NEAR(r.shift_log_weight, -std::log(2.0), 1e-12);
}

TEST(VoronoiLossTest, InfimumSaturatesAtTheTotalTrueWeightForAFarFit) {
  // L(u) = sum_j |u S_j - W_j| + u P with P huge is smallest as u -> 0, where
  // it is sum_j W_j = 2 (two true weights e^0): the loss no longer sees the
  // parameters, and the result says so.
  const MoeParams truth = Moe1d({0, 0}, {1, 0}, {1, 2}, {0, 1}, {1, 1});
  const MoeParams far = Moe1d({0, 0}, {1, 0}, {1, 2}, {100, 101}, {1, 1});
  const VoronoiLossResult r = ComputeVoronoiLoss(truth, far, Opt(kInfimum));
  EXPECT_TRUE(r.saturated);
  EXPECT_NEAR(r.value, 2.0, 1e-12);
  EXPECT_FALSE(ComputeVoronoiLoss(truth, truth, Opt(kInfimum)).saturated);
  EXPECT_FALSE(ComputeVoronoiLoss(truth, far, Opt(kRef)).saturated);
}

TEST(VoronoiLossTest, InfimumOfADivergingGateDoesNotOverflow) {
  // Gate intercepts 800 apart: in the default gauge (reference = last
  // expert) atom 0 has log-weight 800 and e^800 overflows; with expert 0 as
  // the reference the same fit has log-weights (0, -800), no overflow. The
  // infimum gauge does not depend on the reference, so both must agree.
  const MoeParams truth = Moe1d({0, 0}, {1, 0}, {1, 2}, {0, 1}, {1, 1});
  const MoeParams fit = Moe1d({800, 0}, {1, 0}, {1, 2}, {0.1, 1}, {1, 1});
  VoronoiLossOptions first = Opt(kInfimum);
  first.fitted_reference = 0;
  const VoronoiLossResult a = ComputeVoronoiLoss(truth, fit, first);
  const VoronoiLossResult b = ComputeVoronoiLoss(truth, fit, Opt(kInfimum));
  ASSERT_TRUE(std::isfinite(a.value));
  ASSERT_TRUE(std::isfinite(b.value));
  EXPECT_NEAR(b.value, a.value, 1e-12);
}

TEST(VoronoiLossTest, ActivationGateLossChargesTheTemperatureOnEveryAtom) {
  const MoeParams truth = GetPreset("activation").truth;  // tau* = 0.5, beta0* = (-1, 0)
  MoeParams fit = truth;
  fit.gate.temperature = 0.6;
  // Weights exp(beta0) are unchanged; each atom pays e^{beta0_i} |Δtau|.
  EXPECT_NEAR(ComputeVoronoiLoss(truth, fit).value, (std::exp(-1.0) + 1.0) * 0.1, 1e-12);
}

TEST(VoronoiLossTest, TemperatureGateRatioAndRawHandlings) {
  const MoeParams truth = GetPreset("temperature").truth;  // beta0* = (-0.8, 0), beta1* = (2.5, 0), tau* = 0.1
  MoeParams fit = truth;
  fit.gate.temperature = 0.125;
  // Ratio: weights e^{-0.8/0.125} = e^{-6.4}; beta1/tau = 20 against 25.
  const double weight = std::abs(std::exp(-6.4) - std::exp(-8.0));
  EXPECT_NEAR(ComputeVoronoiLoss(truth, fit).value, weight + std::exp(-6.4) * 5.0, 1e-12);
  // Raw: beta1 equal, each atom pays |Δtau| = 0.025.
  VoronoiLossOptions raw;
  raw.temperature = TemperatureHandling::kRaw;
  EXPECT_NEAR(ComputeVoronoiLoss(truth, fit, raw).value,
              weight + (std::exp(-6.4) + 1.0) * 0.025, 1e-12);
}

// ----------------------------------------------------- exactness properties

TEST(VoronoiLossTest, EveryLossIsExactlyZeroAtTheTruth) {
  Rng rng(101);
  for (const GateParams& gate : testing::EveryGate(3, 2, rng)) {
    const MoeParams truth = testing::RandomMoe(gate, rng);
    for (VoronoiGauge gauge : {kRef, kInfimum}) {
      for (VoronoiLossKind kind : {VoronoiLossKind::kD1, VoronoiLossKind::kD2}) {
        const VoronoiLossResult r = ComputeVoronoiLoss(truth, truth, Opt(gauge, kind));
        EXPECT_EQ(r.value, 0.0) << testing::Describe(gate) << ' ' << ToString(gauge);
      }
      // Over-fitted representation of the same measure: atom 0 split in two.
      // Only exp(beta0 + log 1/2) * 2 - exp(beta0) rounding remains (< 1e-15 per weight).
      const VoronoiLossResult r = ComputeVoronoiLoss(truth, SplitAtom(truth, 0), Opt(gauge));
      EXPECT_EQ(r.kind, VoronoiLossKind::kD2);
      EXPECT_NEAR(r.value, 0.0, 1e-14) << testing::Describe(gate) << ' ' << ToString(gauge);
    }
  }
}

TEST(VoronoiLossTest, InvariantUnderRelabellingTheFittedExperts) {
  Rng rng(202);
  for (const GateParams& gate : testing::EveryGate(3, 1, rng)) {
    const MoeParams truth = testing::RandomMoe(gate, rng);
    for (const MoeParams& fit : {Perturb(truth, 0.05, rng), Perturb(SplitAtom(truth, 0), 0.05, rng)}) {
      const Index k = fit.num_experts();
      // Reference gauge: the reference atom travels with the relabelling.
      std::vector<Index> perm(k);
      std::iota(perm.begin(), perm.end(), Index{0});
      std::reverse(perm.begin(), perm.end());  // old last expert becomes expert 0
      const MoeParams relabelled = PermuteExperts(fit, perm);
      VoronoiLossOptions moved = Opt(kRef);
      moved.fitted_reference = 0;
      const double ref = ComputeVoronoiLoss(truth, fit, Opt(kRef)).value;
      // Sums over atoms in another order: agreement to a few ulps of the value.
      EXPECT_NEAR(ComputeVoronoiLoss(truth, relabelled, moved).value, ref, 1e-12 * (1 + ref))
          << testing::Describe(gate);
      // Infimum gauge: label-free, any permutation.
      const double inf = ComputeVoronoiLoss(truth, fit, Opt(kInfimum)).value;
      EXPECT_NEAR(ComputeVoronoiLoss(truth, relabelled, Opt(kInfimum)).value, inf,
                  1e-12 * (1 + inf))
          << testing::Describe(gate);
    }
  }
}

// d = 1 takes the exact bisection path for t1 and the exact break-point
// search for t0, so translated inputs agree to round-off (1e-12 relative).
TEST(VoronoiLossTest, InfimumGaugeIsInvariantUnderCommonGateTranslations) {
  Rng rng(303);
  for (const GateParams& gate : testing::EveryGate(3, 1, rng)) {
    const MoeParams truth = testing::RandomMoe(gate, rng);
    for (const MoeParams& fit : {Perturb(truth, 0.05, rng), Perturb(SplitAtom(truth, 0), 0.05, rng)}) {
      const double base = ComputeVoronoiLoss(truth, fit, Opt(kInfimum)).value;
      MoeParams shifted_fit = fit;
      shifted_fit.gate.bias.array() += 0.7;
      if (HasSlopeTranslationSymmetry(fit.gate)) shifted_fit.gate.slope.array() -= 0.3;
      MoeParams shifted_truth = truth;
      shifted_truth.gate.bias.array() -= 1.1;
      if (HasSlopeTranslationSymmetry(truth.gate)) shifted_truth.gate.slope.array() += 0.4;
      EXPECT_NEAR(ComputeVoronoiLoss(truth, shifted_fit, Opt(kInfimum)).value, base,
                  1e-12 * (1 + base))
          << testing::Describe(gate);
      EXPECT_NEAR(ComputeVoronoiLoss(shifted_truth, fit, Opt(kInfimum)).value, base,
                  1e-12 * (1 + base))
          << testing::Describe(gate);
    }
  }
}

// d = 2: D1 with the L1 norm is separable per coordinate (exact); D2 goes
// through NLopt Sbplx (xtol 1e-13 on t1), so 1e-8 relative is a loose bound
// for a Lipschitz loss of moderate constant.
TEST(VoronoiLossTest, InfimumGaugeTranslationInvarianceInTwoDimensions) {
  Rng rng(304);
  const MoeParams truth = testing::RandomMoe(testing::RandomGate(GateKind::kSoftmax, 3, 2, rng), rng);
  const Vector shift = testing::V({0.25, -0.6});
  for (const MoeParams& fit : {Perturb(truth, 0.05, rng), Perturb(SplitAtom(truth, 1), 0.05, rng)}) {
    const double base = ComputeVoronoiLoss(truth, fit, Opt(kInfimum)).value;
    MoeParams shifted = fit;
    shifted.gate.bias.array() += 0.3;
    shifted.gate.slope.rowwise() += shift.transpose();
    const double tolerance = (fit.num_experts() == 3 ? 1e-12 : 1e-8) * (1 + base);
    EXPECT_NEAR(ComputeVoronoiLoss(truth, shifted, Opt(kInfimum)).value, base, tolerance);
    EXPECT_LE(base, ComputeVoronoiLoss(truth, fit, Opt(kRef)).value + 1e-12);
  }
}

TEST(VoronoiLossTest, InfimumNeverExceedsTheReferenceGauge) {
  Rng rng(404);
  for (int rep = 0; rep < 5; ++rep) {
    for (const GateParams& gate : testing::EveryGate(3, 1, rng)) {
      const MoeParams truth = testing::RandomMoe(gate, rng);
      const MoeParams fit = Perturb(SplitAtom(truth, 0), 0.2, rng);
      const double inf = ComputeVoronoiLoss(truth, fit, Opt(kInfimum)).value;
      const double ref = ComputeVoronoiLoss(truth, fit, Opt(kRef)).value;
      // The starts include the reference alignment and u = 1 is a feasible scale.
      EXPECT_LE(inf, ref + 1e-12 * (1 + ref)) << testing::Describe(gate);
    }
  }
}

// Independent d = 1, L1, D2 implementation of the loss in a given frame:
// fitted log weights shifted by t0 and gate slopes by t1, both measures
// already normalised to their last expert.
double NaiveShiftedLoss(const MoeParams& truth, const MoeParams& fit, double t0, double t1) {
  const MoeParams T = NormaliseGauge(truth);
  const MoeParams F = NormaliseGauge(fit);
  const Index k = F.num_experts(), ks = T.num_experts();
  std::vector<Index> cell(k);
  std::vector<Index> size(ks, 0);
  auto dist = [&](Index i, Index j) {
    return std::abs(F.gate.slope(i, 0) + t1 - T.gate.slope(j, 0)) +
           std::abs(F.experts.slope(i, 0) - T.experts.slope(j, 0)) +
           std::abs(F.experts.intercept[i] - T.experts.intercept[j]) +
           std::abs(F.experts.variance[i] - T.experts.variance[j]);
  };
  for (Index i = 0; i < k; ++i) {
    Index best = 0;
    for (Index j = 1; j < ks; ++j) if (dist(i, j) < dist(i, best)) best = j;
    cell[i] = best;
    ++size[best];
  }
  std::vector<double> S(ks, 0.0);
  double loss = 0.0;
  for (Index i = 0; i < k; ++i) {
    const Index j = cell[i];
    const double w = std::exp(F.gate.bias[i] + t0);
    S[j] += w;
    const double r = size[j] == 1 ? 1.0 : (size[j] == 2 ? 4.0 : 6.0);
    const double r_half = size[j] == 1 ? 1.0 : r / 2;
    loss += w * (std::pow(std::abs(F.gate.slope(i, 0) + t1 - T.gate.slope(j, 0)), r) +
                 std::pow(std::abs(F.experts.slope(i, 0) - T.experts.slope(j, 0)), r_half) +
                 std::pow(std::abs(F.experts.intercept[i] - T.experts.intercept[j]), r) +
                 std::pow(std::abs(F.experts.variance[i] - T.experts.variance[j]), r_half));
  }
  for (Index j = 0; j < ks; ++j) loss += std::abs(S[j] - std::exp(T.gate.bias[j]));
  return loss;
}

TEST(VoronoiLossTest, InfimumAgreesWithABruteForceGridOverTheTranslation) {
  Rng rng(505);
  // Exact fit with the reference atom the lightest, so the best t1 is a
  // weighted median away from the reference alignment, and weights off by a
  // common factor, so t0 != 0; and an over-fitted fit with a split atom.
  const MoeParams truth3 =
      Moe1d({std::log(1.5), std::log(1.2), 0}, {1.5, 0.7, 0}, {1, -1, 0}, {0.5, -0.5, 2}, {0.5, 0.8, 1});
  MoeParams exact = Perturb(truth3, 0.1, rng);
  exact.gate.bias.array() += 0.2;
  const MoeParams truth2 = Moe1d({0.2, 0}, {1.5, 0}, {1, -1}, {0.5, -0.5}, {0.5, 0.8});
  const MoeParams over = Perturb(SplitAtom(truth2, 0), 0.1, rng);
  for (const auto& [truth, fit] : {std::pair{truth3, exact}, std::pair{truth2, over}}) {
    const VoronoiLossResult r = ComputeVoronoiLoss(truth, fit, Opt(kInfimum));
    // The reported value is the loss at the reported shift (relative to the
    // fit's own reference gauge).
    EXPECT_NEAR(NaiveShiftedLoss(truth, fit, r.shift_log_weight, r.shift_gate_slope[0]), r.value,
                1e-12);
    double brute = std::numeric_limits<double>::infinity();
    const double step = 1e-3;
    for (double t1 = -0.3; t1 <= 0.3; t1 += step) {
      for (double t0 = -0.3; t0 <= 0.3; t0 += step) {
        brute = std::min(brute, NaiveShiftedLoss(truth, fit, t0, t1));
      }
    }
    // Never worse than the grid; at most grid-resolution better: the loss is
    // Lipschitz with constant <= 2 x (sum of weights, about 4) per unit of t0
    // or t1, so the grid minimum is within 8 * step of the true infimum.
    EXPECT_LE(r.value, brute + 1e-12);
    EXPECT_GE(r.value, brute - 8 * step);
  }
}

TEST(VoronoiLossTest, TemperatureGateInRatioFormEqualsTheEquivalentSoftmaxLoss) {
  Rng rng(606);
  const MoeParams t_truth = GetPreset("temperature").truth;
  const MoeParams s_truth = GetPreset("softmax-exact").truth;  // same logits
  for (int rep = 0; rep < 3; ++rep) {
    const MoeParams t_fit = Perturb(t_truth, 0.02, rng);
    MoeParams s_fit = t_fit;
    s_fit.gate.kind = GateKind::kSoftmax;
    s_fit.gate.bias /= t_fit.gate.temperature;
    s_fit.gate.slope /= t_fit.gate.temperature;
    s_fit.gate.temperature = 1.0;
    for (VoronoiGauge gauge : {kRef, kInfimum}) {
      const double t_loss = ComputeVoronoiLoss(t_truth, t_fit, Opt(gauge)).value;
      const double s_loss = ComputeVoronoiLoss(s_truth, s_fit, Opt(gauge)).value;
      EXPECT_NEAR(t_loss, s_loss, 1e-12 * (1 + s_loss));
    }
    // The scale symmetry (beta0, beta1, tau) -> c (beta0, beta1, tau) is invisible.
    MoeParams scaled = t_fit;
    scaled.gate.bias *= 3.0;
    scaled.gate.slope *= 3.0;
    scaled.gate.temperature *= 3.0;
    const double base = ComputeVoronoiLoss(t_truth, t_fit).value;
    EXPECT_NEAR(ComputeVoronoiLoss(t_truth, scaled).value, base, 1e-12 * (1 + base));
  }
}

TEST(VoronoiLossTest, MovingOneAtomAwayFromItsTrueAtomIncreasesD1) {
  const MoeParams truth = GetPreset("softmax-exact").truth;
  for (VoronoiGauge gauge : {kRef, kInfimum}) {
    for (int coordinate = 0; coordinate < 4; ++coordinate) {
      double previous = 0.0;
      for (double delta : {0.05, 0.1, 0.2, 0.4, 0.8}) {
        MoeParams fit = truth;
        if (coordinate == 0) fit.gate.slope(0, 0) += delta;
        if (coordinate == 1) fit.experts.slope(0, 0) += delta;
        if (coordinate == 2) fit.experts.intercept[0] += delta;
        if (coordinate == 3) fit.experts.variance[0] += delta;
        const double value = ComputeVoronoiLoss(truth, fit, Opt(gauge)).value;
        EXPECT_GT(value, previous) << "coordinate " << coordinate << " delta " << delta;
        previous = value;
      }
    }
  }
}

// ------------------------------------------------------------- bad input

TEST(VoronoiLossTest, BadInputThrowsWithAClearMessage) {
  const MoeParams truth = GetPreset("softmax-exact").truth;
  MoeParams wide = GetPreset("softmax-exact").truth;
  wide.gate.slope = Matrix::Zero(2, 2);
  wide.experts.slope = Matrix::Zero(2, 2);
  EXPECT_TRUE(ThrowsInvalidArgument([&] { ComputeVoronoiLoss(truth, wide); },
                                    {"ComputeVoronoiLoss", "dimension"}));
  const MoeParams one = Moe1d({0}, {0}, {1}, {0}, {1});
  EXPECT_TRUE(ThrowsInvalidArgument([&] { ComputeVoronoiLoss(truth, one); },
                                    {"k = 1", "k* = 2", "k >= k*"}));
  MoeParams nan_fit = truth;
  nan_fit.experts.intercept[1] = std::nan("");
  EXPECT_TRUE(ThrowsInvalidArgument([&] { ComputeVoronoiLoss(truth, nan_fit); },
                                    {"fitted parameters are invalid", "intercept"}));
  MoeParams nan_truth = truth;
  nan_truth.gate.bias[0] = std::nan("");
  EXPECT_TRUE(ThrowsInvalidArgument([&] { ComputeVoronoiLoss(nan_truth, truth); },
                                    {"true parameters are invalid", "gate.bias"}));
  MoeParams temperature = truth;
  temperature.gate.kind = GateKind::kTemperature;
  EXPECT_TRUE(ThrowsInvalidArgument([&] { ComputeVoronoiLoss(truth, temperature); },
                                    {"cannot compare", "temperature"}));
  VoronoiLossOptions o;
  o.fitted_reference = 2;
  EXPECT_TRUE(ThrowsInvalidArgument([&] { ComputeVoronoiLoss(truth, truth, o); },
                                    {"fitted_reference = 2"}));
  o.fitted_reference = -3;
  EXPECT_TRUE(ThrowsInvalidArgument([&] { o.Validate(); }, {"fitted_reference"}));
  o = {};
  o.rbar_overrides[1] = 2.0;
  EXPECT_TRUE(ThrowsInvalidArgument([&] { o.Validate(); }, {"rbar_overrides", "key 1"}));
  o = {};
  o.rbar_overrides[4] = std::nan("");
  EXPECT_TRUE(ThrowsInvalidArgument([&] { o.Validate(); }, {"rbar(4)"}));
  o = {};
  o.max_alternations = 0;
  EXPECT_TRUE(ThrowsInvalidArgument([&] { o.Validate(); }, {"max_alternations"}));
}

TEST(VoronoiLossTest, ReportsNameTheLossGaugeAndCells) {
  const MoeParams truth = GetPreset("softmax-exact").truth;
  const MoeParams fit = Moe1d({-7.5, 0}, {24, 0}, {-19.5, 20.2}, {15.1, -5.3}, {0.1, 0.15});
  const VoronoiLossResult r = ComputeVoronoiLoss(truth, fit);
  EXPECT_NE(r.BriefReport().find("D1 = "), std::string::npos);
  EXPECT_NE(r.BriefReport().find("gauge reference"), std::string::npos);
  EXPECT_NE(r.FullReport().find("A0 = {0} (1)"), std::string::npos);
}

TEST(VoronoiLossTest, EmptyCellIsReportedAndChargedItsTrueWeight) {
  const MoeParams truth = Moe1d({0, 0}, {1, 0}, {1, -1}, {5, -5}, {1, 1});
  // Both fitted atoms sit on true atom 1; true atom 0's cell is empty.
  const MoeParams fit = Moe1d({std::log(0.5), std::log(0.5)}, {0, 0}, {-1, -1}, {-5, -5}, {1, 1});
  const VoronoiLossResult r = ComputeVoronoiLoss(truth, fit);
  EXPECT_EQ(r.cells.size(0), 0);
  ASSERT_FALSE(r.warnings.empty());
  EXPECT_NE(r.warnings[0].find("empty Voronoi cell"), std::string::npos);
  // After the reference gauge the fitted weights are (1, 1): cell 1 sums to 2.
  EXPECT_NEAR(r.weight_term, 1.0 + 1.0, 1e-12);
}

}  // namespace
}  // namespace moelab
