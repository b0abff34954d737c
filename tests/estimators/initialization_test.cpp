// Starting points: the [Demyst] near-truth protocol, random and data-driven.
#include "moelab/estimators/initialization.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>

#include "moelab/estimators/em.hpp"
#include "moelab/simulation/presets.hpp"
#include "moelab/simulation/simulate.hpp"

namespace moelab {
namespace {

ModelShape ShapeWithK(const MoeParams& truth, Index k) {
  ModelShape shape = ShapeOf(truth);
  shape.num_experts = k;
  return shape;
}

bool SameParams(const MoeParams& a, const MoeParams& b) {
  return a.gate.bias == b.gate.bias && a.gate.slope == b.gate.slope &&
         a.experts.slope == b.experts.slope && a.experts.intercept == b.experts.intercept &&
         a.experts.variance == b.experts.variance;
}

TEST(InitStrategyTest, NamesRoundTripAndUnknownThrows) {
  for (InitStrategy s : {InitStrategy::kNearTruth, InitStrategy::kRandom, InitStrategy::kDataDriven}) {
    EXPECT_EQ(ParseInitStrategy(ToString(s)), s);
  }
  EXPECT_THROW(ParseInitStrategy("kmeans"), std::invalid_argument);
}

TEST(InitNearTruthTest, ExactFitStartsNearTheTruthWithTheProtocolsNoise) {
  const Preset preset = GetPreset("softmax-exact");
  const Index n = 1000;
  const double expert_sd = 0.05 * std::pow(1000.0, -0.083);
  const double gate_sd = 0.005 * std::pow(1000.0, -0.083);
  const double variance_sd = 0.005 * std::pow(1000.0, -0.25);
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    Rng rng(seed);
    const MoeParams init = InitNearTruth(preset.truth, ShapeWithK(preset.truth, 2), n, rng);
    // k = k* = 2 with s(1) = 1 forces s = identity. Each coefficient's offset
    // is one N(0, sd^2) draw: 6 sd bounds it with probability 1 - 2e-9 per
    // draw (60 draws here), while a wrong scale (e.g. no n^-0.083) or a wrong
    // atom map is off by far more.
    const double gate_eps = init.gate.bias[0] - preset.truth.gate.bias[0];
    EXPECT_LE(std::abs(gate_eps), 6 * gate_sd);
    EXPECT_NEAR(init.gate.slope(0, 0) - preset.truth.gate.slope(0, 0), gate_eps, 1e-12);
    EXPECT_EQ(init.gate.bias[1], 0.0);  // reference: no noise, gauge kept
    EXPECT_EQ(init.gate.slope(1, 0), 0.0);
    for (Index i = 0; i < 2; ++i) {
      const double eps = init.experts.intercept[i] - preset.truth.experts.intercept[i];
      EXPECT_LE(std::abs(eps), 6 * expert_sd);
      EXPECT_NEAR(init.experts.slope(i, 0) - preset.truth.experts.slope(i, 0), eps, 1e-12);
      const double variance_offset = init.experts.variance[i] - preset.truth.experts.variance[i];
      EXPECT_GE(variance_offset, 0.0);  // |N(0, sd^2)|, on the variance (not the std)
      EXPECT_LE(variance_offset, 6 * variance_sd);
    }
  }
}

TEST(InitNearTruthTest, OverSpecifiedFitCoversEveryAtomAndSplitsItsWeight) {
  const Preset preset = GetPreset("softmax-exact");
  const MoeParams& truth = preset.truth;
  for (std::uint64_t seed = 0; seed < 30; ++seed) {
    Rng rng(seed);
    const MoeParams init = InitNearTruth(truth, ShapeWithK(truth, 4), 100000, rng);
    // Recover s(i) from the expert intercepts (true ones are 15 and -5; the
    // noise sd at n = 1e5 is 0.019).
    std::vector<int> count(2, 0);
    std::vector<Index> s(4);
    for (Index i = 0; i < 4; ++i) {
      s[i] = std::abs(init.experts.intercept[i] - 15.0) < 1.0 ? 0 : 1;
      ++count[s[i]];
    }
    EXPECT_EQ(s[3], 1) << "fitted reference must map to the true reference";
    EXPECT_GT(count[0], 0);
    EXPECT_GT(count[1], 0);
    // Weight split: sum over atoms in cell j of exp(beta0_i) = exp(beta0*_j)
    // relative to the reference cell (the gauge pins beta0 of expert 3 at 0),
    // up to the gate noise (sd 0.0019 at n = 1e5: 6 sd ~ 1.2 %).
    double cell0 = 0.0, cell1 = 0.0;
    for (Index i = 0; i < 4; ++i) (s[i] == 0 ? cell0 : cell1) += std::exp(init.gate.bias[i]);
    EXPECT_NEAR(std::log(cell0 / cell1), truth.gate.bias[0] - truth.gate.bias[1], 0.012 * 2);
  }
}

TEST(InitNearTruthTest, IsDeterministicAndValidatesItsInput) {
  const Preset preset = GetPreset("topk-exact");
  Rng a(5), b(5);
  const ModelShape shape = ShapeWithK(preset.truth, 3);
  EXPECT_TRUE(SameParams(InitNearTruth(preset.truth, shape, 500, a),
                         InitNearTruth(preset.truth, shape, 500, b)));
  Rng rng(1);
  EXPECT_THROW(InitNearTruth(preset.truth, ShapeWithK(preset.truth, 2), 500, rng),
               std::invalid_argument);  // k < k*
  EXPECT_THROW(InitNearTruth(preset.truth, shape, 0, rng), std::invalid_argument);
  const Dataset data = [&] {
    Rng r(2);
    return Simulate(preset.truth, preset.design, 50, r);
  }();
  EXPECT_THROW(MakeInitialParams(InitStrategy::kNearTruth, data, shape, nullptr, rng),
               std::invalid_argument);
  EXPECT_NO_THROW(MakeInitialParams(InitStrategy::kNearTruth, data, shape, &preset.truth, rng));
}

TEST(InitNearTruthTest, TemperatureGateKeepsTheTruthsTau) {
  const Preset preset = GetPreset("temperature");
  ModelShape shape = ShapeWithK(preset.truth, 2);
  shape.temperature = 1.0;
  Rng rng(3);
  const MoeParams init = InitNearTruth(preset.truth, shape, 1000, rng);
  EXPECT_EQ(init.gate.temperature, preset.truth.gate.temperature);
}

class TruthFreeInitTest : public ::testing::TestWithParam<InitStrategy> {};

TEST_P(TruthFreeInitTest, ValidDeterministicAndOfTheRequestedShape) {
  for (const char* name : {"softmax-over", "topk-over", "temperature", "activation"}) {
    const Preset preset = GetPreset(name);
    Rng data_rng(10);
    const Dataset data = Simulate(preset.truth, preset.design, 800, data_rng);
    ModelShape shape = ShapeWithK(preset.truth, preset.fitted_experts);
    if (preset.fitted_top_k > 0) shape.top_k = preset.fitted_top_k;
    Rng a(20), b(20), c(21);
    const MoeParams first = MakeInitialParams(GetParam(), data, shape, nullptr, a);
    const MoeParams again = MakeInitialParams(GetParam(), data, shape, nullptr, b);
    EXPECT_NO_THROW(first.Validate());
    EXPECT_EQ(first.num_experts(), preset.fitted_experts);
    EXPECT_EQ(first.gate.kind, preset.truth.gate.kind);
    EXPECT_EQ(first.gate.top_k, shape.top_k);
    EXPECT_TRUE(SameParams(first, again)) << name;
    EXPECT_FALSE(SameParams(first, MakeInitialParams(GetParam(), data, shape, nullptr, c)));
    EXPECT_EQ(first.gate.bias[first.num_experts() - 1], 0.0);  // gauge-normalised
  }
}

INSTANTIATE_TEST_SUITE_P(Strategies, TruthFreeInitTest,
                         ::testing::Values(InitStrategy::kRandom, InitStrategy::kDataDriven),
                         [](const auto& info) {
                           return std::string(info.param == InitStrategy::kRandom ? "random"
                                                                                  : "data");
                         });

TEST(InitDataDrivenTest, EmFromTheDataStartReachesTheNearTruthOptimum) {
  // The data-driven start needs no truth; on the [Demyst] model at n = 4000
  // EM from it must reach the same maximum as EM from the favourable
  // near-truth start (relative likelihood agreement 1e-6, well below the
  // gap to any spurious local maximum, which differs by O(n) in log-likelihood).
  const Preset preset = GetPreset("softmax-exact");
  Rng data_rng(40);
  const Dataset data = Simulate(preset.truth, preset.design, 4000, data_rng);
  const ModelShape shape = ShapeWithK(preset.truth, 2);
  EmOptions options;
  options.relative_tolerance = 1e-10;
  Rng rng(41);
  const FitResult from_truth =
      FitEm(data, InitNearTruth(preset.truth, shape, data.size(), rng), options);
  const FitResult from_data = FitEm(data, InitDataDriven(data, shape, rng), options);
  ASSERT_TRUE(from_truth.IsUsable() && from_data.IsUsable());
  EXPECT_NEAR(from_data.log_likelihood, from_truth.log_likelihood,
              1e-6 * std::abs(from_truth.log_likelihood));
}

TEST(InitDataDrivenTest, BadInputThrows) {
  const Preset preset = GetPreset("softmax-exact");
  Rng rng(1);
  Dataset data = Simulate(preset.truth, preset.design, 100, rng);
  ModelShape shape = ShapeWithK(preset.truth, 2);
  shape.dim = 2;
  EXPECT_THROW(InitDataDriven(data, shape, rng), std::invalid_argument);
  EXPECT_THROW(InitRandom(data, shape, rng), std::invalid_argument);
  shape.dim = 1;
  data.y[0] = std::nan("");
  EXPECT_THROW(InitDataDriven(data, shape, rng), std::invalid_argument);
}

}  // namespace
}  // namespace moelab
