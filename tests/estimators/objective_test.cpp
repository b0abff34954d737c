#include "moelab/estimators/objective.hpp"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "moelab/core/rng.hpp"
#include "moelab/model/gaussian_moe.hpp"
#include "moelab/simulation/presets.hpp"
#include "moelab/simulation/simulate.hpp"
#include "support/test_util.hpp"

namespace moelab {
namespace {

// Adds N(0, scale^2) noise to every gate and expert coefficient and
// multiplies each variance by exp(N(0, scale^2)), so gradients are evaluated
// away from the truth (where the expert gradients would nearly vanish).
MoeParams Perturb(const MoeParams& params, double scale, Rng& rng) {
  MoeParams out = params;
  for (Index i = 0; i < out.num_experts(); ++i) {
    out.gate.bias[i] += scale * StandardNormal(rng);
    out.experts.intercept[i] += scale * StandardNormal(rng);
    out.experts.variance[i] *= std::exp(scale * StandardNormal(rng));
    for (Index j = 0; j < out.dim(); ++j) {
      out.gate.slope(i, j) += scale * StandardNormal(rng);
      out.experts.slope(i, j) += scale * StandardNormal(rng);
    }
  }
  return out;
}

// A k = 3, d = 2 softmax model, to exercise d > 1 and k > 2.
MoeParams ThreeExpertsTwoDims() {
  MoeParams p;
  p.gate.kind = GateKind::kSoftmax;
  p.gate.bias = (Vector(3) << 0.5, -0.3, 0.0).finished();
  p.gate.slope = (Matrix(3, 2) << 2.0, -1.0, -1.5, 1.0, 0.0, 0.0).finished();
  p.experts.intercept = (Vector(3) << 1.0, -1.0, 0.5).finished();
  p.experts.slope = (Matrix(3, 2) << 1.0, 2.0, -2.0, 0.5, 0.0, -1.0).finished();
  p.experts.variance = (Vector(3) << 0.2, 0.3, 0.1).finished();
  return p;
}

struct GradientCase {
  std::string name;
  MoeParams truth;
  bool fit_temperature;
};

std::vector<GradientCase> GradientCases() {
  std::vector<GradientCase> cases;
  cases.push_back({"softmax-exact", GetPreset("softmax-exact").truth, false});
  cases.push_back({"softmax-k3-d2", ThreeExpertsTwoDims(), false});
  cases.push_back({"topk-exact", GetPreset("topk-exact").truth, false});
  MoeParams topk_full = GetPreset("topk-exact").truth;
  topk_full.gate.ranking = TopKRanking::kFullLogit;
  cases.push_back({"topk-full-logit", topk_full, false});
  for (bool tau : {false, true}) {
    const std::string suffix = tau ? "+log-tau" : "";
    cases.push_back({"temperature" + suffix, GetPreset("temperature").truth, tau});
    cases.push_back({"activation-tanh" + suffix, GetPreset("activation").truth, tau});
    MoeParams sigmoid = GetPreset("activation").truth;
    sigmoid.gate.activation = Activation::kSigmoid;
    cases.push_back({"activation-sigmoid" + suffix, sigmoid, tau});
    MoeParams identity = GetPreset("activation").truth;
    identity.gate.activation = Activation::kIdentity;
    cases.push_back({"activation-identity" + suffix, identity, tau});
  }
  return cases;
}

Dataset SimulateFor(const MoeParams& truth, Index n, std::uint64_t seed) {
  Rng rng(seed);
  CovariateDesign design;  // Uniform[-1, 1]^d: both signs, so top-K regions all occur
  design.dim = truth.dim();
  return Simulate(truth, design, n, rng);
}

TEST(MoeObjectiveTest, GradientMatchesCentralDifferencesForEveryGate) {
  for (const GradientCase& c : GradientCases()) {
    SCOPED_TRACE(c.name);
    const Dataset data = SimulateFor(c.truth, 300, 11);
    Rng rng(5);
    const MoeParams at = Perturb(c.truth, 0.3, rng);
    const MoeObjective objective(data, at, c.fit_temperature);
    const Vector x = objective.Pack(at);
    Vector analytic;
    const double value = objective.NegativeLogLikelihood(x, &analytic);
    ASSERT_TRUE(std::isfinite(value));
    const Vector numeric = testing::CentralDifferenceGradient(
        [&](const Vector& v) { return objective.NegativeLogLikelihood(v, nullptr); }, x);
    // Central differences with relative step 1e-5 are accurate to about
    // h^2 |f'''| + eps |f| / h ~ 1e-8 relative here (f ~ 1e3, moderate
    // curvature); 1e-6 relative to the largest component leaves a margin of
    // 100 while a wrong term (a missing factor, sign or 1/tau) is O(1).
    const double scale = std::max(1.0, analytic.lpNorm<Eigen::Infinity>());
    for (Index j = 0; j < x.size(); ++j) {
      EXPECT_NEAR(analytic[j], numeric[j], 1e-6 * scale) << "entry " << j;
    }
  }
}

// The fused-kernel path (softmax, top-K, temperature with tau fixed) against
// the generic blocked path: the same function, other arithmetic (the
// kernel's Fisher-identity gradient from sums about the current means).
// n = 2999 leaves partial blocks, chunks and 4-row groups.
TEST(MoeObjectiveTest, FusedKernelPathEqualsTheGenericPath) {
  int fused_cases = 0;
  for (const GradientCase& c : GradientCases()) {
    SCOPED_TRACE(c.name);
    const Dataset data = SimulateFor(c.truth, 2999, 12);
    Rng rng(6);
    const MoeParams at = Perturb(c.truth, 0.3, rng);
    const MoeObjective fused(data, at, c.fit_temperature);
    MoeObjective generic(data, at, c.fit_temperature);
    generic.UseGenericPath();
    // Exactly the affine gates with the reference gauge and tau fixed.
    const bool expected = c.name.rfind("softmax", 0) == 0 || c.name.rfind("topk", 0) == 0 ||
                          c.name == "temperature";
    EXPECT_EQ(fused.uses_fused_kernel(), expected);
    if (!fused.uses_fused_kernel()) continue;
    ++fused_cases;
    const Vector x = fused.Pack(at);
    Vector g_fused, g_generic;
    const double v_fused = fused.NegativeLogLikelihood(x, &g_fused);
    const double v_generic = generic.NegativeLogLikelihood(x, &g_generic);
    // Round-off of sums of ~3000 terms of size ~1 in another order: ~1e-13
    // relative; any formula error is O(1).
    EXPECT_NEAR(v_fused, v_generic, 1e-12 * std::abs(v_generic));
    EXPECT_DOUBLE_EQ(fused.NegativeLogLikelihood(x, nullptr), v_fused);
    const double scale = std::max(1.0, g_generic.lpNorm<Eigen::Infinity>());
    for (Index j = 0; j < x.size(); ++j) {
      EXPECT_NEAR(g_fused[j], g_generic[j], 1e-10 * scale) << "entry " << j;
    }
  }
  EXPECT_EQ(fused_cases, 5);
}

TEST(MoeObjectiveTest, TemperatureEntryIsPresentOnlyWhenFitted) {
  const Dataset data = SimulateFor(GetPreset("temperature").truth, 50, 1);
  const MoeObjective without(data, GetPreset("temperature").truth, false);
  const MoeObjective with(data, GetPreset("temperature").truth, true);
  EXPECT_FALSE(without.fits_temperature());
  EXPECT_TRUE(with.fits_temperature());
  EXPECT_EQ(with.num_parameters(), without.num_parameters() + 1);
  // A softmax gate has no temperature: the request is ignored.
  const MoeObjective softmax(data, GetPreset("softmax-exact").truth, true);
  EXPECT_FALSE(softmax.fits_temperature());
  EXPECT_EQ(softmax.num_parameters(), without.num_parameters());
}

TEST(MoeObjectiveTest, FreeGateEntriesFixTheReferenceExpert) {
  MoeParams p = ThreeExpertsTwoDims();  // k = 3, d = 2: entries 0..8, reference 6..8
  EXPECT_EQ(FreeGateEntries(p.gate), (std::vector<Index>{0, 1, 2, 3, 4, 5}));
  p.gate.kind = GateKind::kActivation;  // tanh: only the reference beta0 is fixed
  EXPECT_EQ(FreeGateEntries(p.gate), (std::vector<Index>{0, 1, 2, 3, 4, 5, 7, 8}));
  p.gate.activation = Activation::kIdentity;  // translation symmetric again
  EXPECT_EQ(FreeGateEntries(p.gate), (std::vector<Index>{0, 1, 2, 3, 4, 5}));
}

TEST(MoeObjectiveTest, PackUnpackRoundTripIsTheGaugeNormalisedModel) {
  for (const GradientCase& c : GradientCases()) {
    SCOPED_TRACE(c.name);
    const Dataset data = SimulateFor(c.truth, 100, 3);
    Rng rng(8);
    const MoeParams at = Perturb(c.truth, 0.5, rng);  // reference gate entries now non-zero
    const MoeObjective objective(data, at, c.fit_temperature);
    const MoeParams back = objective.Unpack(objective.Pack(at));
    const MoeParams expected = NormaliseGauge(at);
    EXPECT_TRUE(back.gate.bias.isApprox(expected.gate.bias, 1e-14));
    EXPECT_TRUE(back.gate.slope.isApprox(expected.gate.slope, 1e-14));
    EXPECT_NEAR(back.gate.temperature, expected.gate.temperature, 1e-14);
    EXPECT_TRUE(back.experts.intercept.isApprox(expected.experts.intercept, 1e-14));
    EXPECT_TRUE(back.experts.slope.isApprox(expected.experts.slope, 1e-14));
    EXPECT_TRUE(back.experts.variance.isApprox(expected.experts.variance, 1e-14));
    // The objective is the model's own log-likelihood (the gauge does not
    // change the density): agreement to round-off of a sum of n terms.
    const double ll = GaussianMoe(at).LogLikelihood(data);
    EXPECT_NEAR(-objective.NegativeLogLikelihood(objective.Pack(at), nullptr), ll,
                1e-10 * std::abs(ll));
  }
}

TEST(MoeObjectiveTest, OverflowGivesInfinityAndZeroGradientInsteadOfNan) {
  const MoeParams truth = GetPreset("softmax-exact").truth;
  Dataset data = SimulateFor(truth, 20, 2);
  data.y[3] = 1e200;  // finite data, but (y - m)^2 overflows
  const MoeObjective objective(data, truth, false);
  Vector gradient;
  EXPECT_EQ(objective.NegativeLogLikelihood(objective.Pack(truth), &gradient),
            std::numeric_limits<double>::infinity());
  ASSERT_EQ(gradient.size(), objective.num_parameters());
  EXPECT_TRUE(gradient.isZero(0.0));
}

TEST(MoeObjectiveTest, RejectsMismatchedInput) {
  const MoeParams truth = GetPreset("softmax-exact").truth;
  Dataset data = SimulateFor(truth, 20, 2);
  const MoeObjective objective(data, truth, false);
  EXPECT_THROW(objective.Unpack(Vector::Zero(objective.num_parameters() + 1)),
               std::invalid_argument);
  EXPECT_THROW(objective.Pack(ThreeExpertsTwoDims()), std::invalid_argument);
  Dataset wide = data;
  wide.X = Matrix::Zero(20, 2);
  EXPECT_THROW(MoeObjective(wide, truth, false), std::invalid_argument);
  Dataset bad = data;
  bad.y[0] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(MoeObjective(bad, truth, false), std::invalid_argument);
}

}  // namespace
}  // namespace moelab
