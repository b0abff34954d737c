// The EM engine's own pieces: the fused E-step against the model, and the
// L-BFGS gate objective's analytic gradient against finite differences and
// against the model's GateObjectiveGradient.
#include "moelab/estimators/detail/em_engine.hpp"

#include <gtest/gtest.h>

#include "moelab/core/rng.hpp"
#include "moelab/model/gates/gate.hpp"
#include "moelab/model/gaussian_moe.hpp"
#include "moelab/simulation/presets.hpp"
#include "moelab/simulation/simulate.hpp"
#include "support/test_util.hpp"

namespace moelab::detail {
namespace {

Dataset PresetData(const Preset& preset, Index n, std::uint64_t seed) {
  Rng rng(seed);
  return Simulate(preset.truth, preset.design, n, rng);
}

TEST(EmEngineTest, EStepMatchesTheModelForEveryGate) {
  for (const char* name : {"softmax-over", "topk-exact", "temperature", "activation"}) {
    const Preset preset = GetPreset(name);
    const Dataset data = PresetData(preset, 2100, 3);
    const MoeParams params = NormaliseGauge(preset.truth);
    const EmOptions options;
    const EmEngine engine(data, params, options);
    const GaussianMoe model(params);
    const double ll = model.LogLikelihood(data);
    // Same formulas, different summation order and vectorised exp/log: 1e-12 relative.
    EXPECT_NEAR(engine.log_likelihood(), ll, 1e-12 * std::abs(ll)) << name;
    const Matrix R = model.Responsibilities(data);
    EXPECT_LT((engine.responsibilities() - R).cwiseAbs().maxCoeff(), 1e-12) << name;
    if (preset.truth.gate.kind == GateKind::kTopK) {
      // Exactly zero outside the selected set.
      const Matrix log_g = GateLogWeights(params.gate, data.X);
      for (Index r = 0; r < data.size(); ++r) {
        for (Index i = 0; i < params.num_experts(); ++i) {
          if (log_g(r, i) == -std::numeric_limits<double>::infinity()) {
            ASSERT_EQ(engine.responsibilities()(r, i), 0.0);
          }
        }
      }
    }
  }
}

struct GateCase {
  const char* name;
  GateKind kind;
  Activation activation;
  bool with_temperature;
};

class GateGradientTest : public ::testing::TestWithParam<GateCase> {};

TEST_P(GateGradientTest, AnalyticGradientMatchesFiniteDifferencesAndTheModel) {
  const GateCase c = GetParam();
  const Preset preset = GetPreset(c.kind == GateKind::kTemperature ? "temperature" : "activation");
  const Dataset data = PresetData(preset, 2500, 9);
  MoeParams params = NormaliseGauge(preset.truth);
  params.gate.activation = c.activation;
  EmOptions options;
  options.fit_temperature = c.with_temperature;
  const EmEngine engine(data, params, options);
  // Evaluate away from the truth so the gradient is not ~0.
  GateParams gate = params.gate;
  gate.bias[0] += 0.3;
  gate.slope(0, 0) *= 0.8;
  gate.slope(1, 0) = 0.4;  // the reference slope is free for a non-linear activation
  Vector gradient;
  const double q = engine.GateObjectiveAndGradient(gate, c.with_temperature, &gradient);
  const Matrix& R = engine.responsibilities();
  EXPECT_NEAR(q, GateObjective(gate, data.X, R), 1e-11 * std::abs(q));
  const Vector packed = PackGate(gate, c.with_temperature);
  const Vector fd = testing::CentralDifferenceGradient(
      [&](const Vector& v) {
        GateParams g = gate;
        UnpackGate(v, c.with_temperature, &g);
        Vector unused;
        return engine.GateObjectiveAndGradient(g, c.with_temperature, &unused);
      },
      packed);
  // h = 1e-5 central differences of a smooth Q with |Q| ~ 1e3: error ~1e-7.
  for (Index j = 0; j < packed.size(); ++j) EXPECT_NEAR(gradient[j], fd[j], 1e-5) << j;
  const Vector model = GateObjectiveGradient(gate, data.X, R, c.with_temperature);
  for (Index j = 0; j < packed.size(); ++j) {
    EXPECT_NEAR(gradient[j], model[j], 1e-9 * std::max(1.0, std::abs(model[j]))) << j;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Gates, GateGradientTest,
    ::testing::Values(GateCase{"tanh", GateKind::kActivation, Activation::kTanh, false},
                      GateCase{"tanh_tau", GateKind::kActivation, Activation::kTanh, true},
                      GateCase{"sigmoid_tau", GateKind::kActivation, Activation::kSigmoid, true},
                      GateCase{"identity", GateKind::kActivation, Activation::kIdentity, false},
                      GateCase{"temperature_tau", GateKind::kTemperature, Activation::kTanh, true}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace moelab::detail
