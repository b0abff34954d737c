#include "moelab/simulation/presets.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "moelab/model/gates/gate.hpp"
#include "moelab/core/log_sum_exp.hpp"
#include "moelab/simulation/simulate.hpp"
#include "support/expect_invalid.hpp"

namespace moelab {
namespace {

TEST(PresetsTest, NamesAreUniqueAndEachPresetIsConsistent) {
  const auto& names = PresetNames();
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), names.size());
  EXPECT_GE(names.size(), 6u);
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    const Preset p = GetPreset(name);
    EXPECT_EQ(p.name, name);
    EXPECT_FALSE(p.description.empty());
    EXPECT_NO_THROW(p.truth.Validate());
    EXPECT_NO_THROW(p.design.Validate());
    EXPECT_EQ(p.design.dim, p.truth.dim());
    EXPECT_GE(p.fitted_experts, p.truth.num_experts());
    if (p.truth.gate.kind == GateKind::kTopK) {
      EXPECT_GE(p.fitted_top_k, 1);
      EXPECT_LE(p.fitted_top_k, p.fitted_experts);
      EXPECT_GE(p.fitted_top_k, p.truth.gate.top_k);
    } else {
      EXPECT_EQ(p.fitted_top_k, 0);
    }
    // Truths are stored gauge-normalised (reference = last expert).
    const MoeParams normalised = NormaliseGauge(p.truth);
    EXPECT_EQ(normalised.gate.bias, p.truth.gate.bias);
    EXPECT_EQ(normalised.gate.slope, p.truth.gate.slope);
  }
}

TEST(PresetsTest, EveryPresetSimulatesAndUsesEveryExpert) {
  for (const std::string& name : PresetNames()) {
    SCOPED_TRACE(name);
    const Preset p = GetPreset(name);
    Rng rng(DeriveSeed(1201, 1000, 0));
    const Dataset data = Simulate(p.truth, p.design, 1000, rng);
    EXPECT_NO_THROW(data.Validate());
    ASSERT_TRUE(data.labels.has_value());
    Vector counts = Vector::Zero(p.truth.num_experts());
    for (Index n = 0; n < data.size(); ++n) {
      ASSERT_GE((*data.labels)[n], 0);
      ASSERT_LT((*data.labels)[n], p.truth.num_experts());
      counts[(*data.labels)[n]] += 1.0;
    }
    // Every preset expert carries at least 10% of the design's gate mass
    // (checked on the simulated X), so an unused expert has probability
    // below 0.9^1000 ~ 2e-46.
    const Vector mass = ExpOfLog(GateLogWeights(p.truth.gate, data.X)).colwise().mean().transpose();
    ASSERT_GT(mass.minCoeff(), 0.1);
    EXPECT_GT(counts.minCoeff(), 0.0);
  }
}

TEST(PresetsTest, TopKExactSelectsTheDocumentedExperts) {
  // Expert 1 everywhere, expert 0 on x > 0, expert 2 on x < 0.
  const Preset p = GetPreset("topk-exact");
  Matrix X(200, 1);
  X.col(0) = Vector::LinSpaced(200, -1.0, 1.0);  // even count: 0 is not on the grid
  const Matrix log_w = GateLogWeights(p.truth.gate, X);
  for (Index n = 0; n < 200; ++n) {
    const double x = X(n, 0);
    EXPECT_NE(log_w(n, 1), -INFINITY) << x;
    EXPECT_EQ(log_w(n, 0) != -INFINITY, x > 0) << x;
    EXPECT_EQ(log_w(n, 2) != -INFINITY, x < 0) << x;
  }
}

TEST(PresetsTest, TemperaturePresetHasTheSoftmaxPresetLogits) {
  const Preset softmax = GetPreset("softmax-exact");
  const Preset temperature = GetPreset("temperature");
  Matrix X(50, 1);
  X.col(0) = Vector::LinSpaced(50, 0.0, 1.0);
  // (2.5 x - 0.8) / 0.1 = 25 x - 8 up to the rounding of 0.1 and 0.8:
  // log weights of size < 20 agree to 1e-12.
  EXPECT_LT((GateLogWeights(softmax.truth.gate, X) - GateLogWeights(temperature.truth.gate, X))
                .cwiseAbs().maxCoeff(),
            1e-12);
  EXPECT_EQ(softmax.truth.experts.variance, temperature.truth.experts.variance);
}

TEST(PresetsTest, UnknownNameThrowsListingTheValidNames) {
  EXPECT_TRUE(testing::ThrowsInvalidArgument([] { GetPreset("softmax-exactly"); },
                                             {"unknown preset 'softmax-exactly'", "softmax-exact",
                                              "topk-over", "activation"}));
}

}  // namespace
}  // namespace moelab
