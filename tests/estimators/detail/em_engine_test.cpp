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

namespace moelab::detail {
namespace {

// The speculative gate step (E-step fused with IRLS's first trial evaluation)
// must give the iterates of the plain M-step-then-E-step sequence. Starting
// away from the optimum makes IRLS need several Newton steps in the early
// iterations (the kTrialEvaluated path) and one step later (kAccepted).
TEST(EmEngineTest, SpeculativeGateStepGivesThePlainIterates) {
  int reused = 0;
  for (const char* name : {"softmax-exact", "softmax-over", "topk-exact", "topk-over",
                           "temperature"}) {
    const Preset preset = GetPreset(name);
    const Dataset data = PresetData(preset, 3000, 17);
    MoeParams start = NormaliseGauge(preset.truth);
    start.gate.slope *= 0.5;  // far enough that the first gate steps need several Newton steps
    start.gate.bias.array() += 0.3;
    start = NormaliseGauge(start);
    const EmOptions options;
    EmEngine fused(data, start, options);
    EmEngine plain(data, start, options);
    plain.set_speculative_gate_step(false);
    for (int iteration = 0; iteration < 30; ++iteration) {
      const EmEngine::StepReport a = fused.Step();
      const EmEngine::StepReport b = plain.Step();
      ASSERT_EQ(a.finite, b.finite) << name;
      ASSERT_EQ(a.selection_changes, b.selection_changes) << name << " iteration " << iteration;
      // Where IRLS goes on after the fused trial, its information comes from the
      // E-step's responsibilities, whose row sums are 1 up to round-off rather
      // than the previous iterate's: the Newton steps then differ by a few ulps
      // times the information's condition number. 1e-9 relative is far above that
      // and far below any real difference (an iterate off by a Newton step moves
      // the log-likelihood by >> 1e-6 here).
      ASSERT_NEAR(a.log_likelihood, b.log_likelihood, 1e-9 * std::abs(b.log_likelihood))
          << name << " iteration " << iteration;
    }
    const double change =
        std::max({(PackGate(fused.params().gate, false) - PackGate(plain.params().gate, false))
                      .cwiseAbs()
                      .maxCoeff(),
                  (fused.params().experts.slope - plain.params().experts.slope).cwiseAbs().maxCoeff(),
                  (fused.params().experts.variance - plain.params().experts.variance)
                      .cwiseAbs()
                      .maxCoeff()});
    EXPECT_LT(change, 1e-7) << name;  // parameters: square root of the 1e-9 log-likelihood scale
    EXPECT_EQ(plain.speculative_accepted() + plain.speculative_trials_reused(), 0) << name;
    reused += fused.speculative_trials_reused();
  }
  // The fused trial was exercised (kAccepted needs the increase at round-off
  // level, i.e. large n: the benchmarks show it).
  EXPECT_GT(reused, 0);
}

// Generalised EM near a fit: one pass over the data per iteration - the
// E-step at the candidate, which also evaluates the gate's Newton step, and
// no variance pass (the expert sums are taken about the current means). The
// first iterations from a far start may take the exact variance pass; they
// must still give the iterates of the two-pass M-step (the column-wise
// baseline always takes it) to round-off.
TEST(EmEngineTest, GeneralisedEmIterationIsOnePassNearTheFit) {
  const Preset preset = GetPreset("softmax-exact");
  const Dataset data = PresetData(preset, 3000, 23);
  MoeParams start = NormaliseGauge(preset.truth);
  start.experts.intercept.array() += 1.0;  // far: the early M-steps move the means a lot
  EmOptions options;
  options.gate_newton_steps = 1;
  EmEngine one_pass(data, start, options);
  EmEngine two_pass(data, start, options, /*fused_kernel=*/false);
  for (int iteration = 0; iteration < 40; ++iteration) {
    const EmEngine::StepReport a = one_pass.Step();
    const EmEngine::StepReport b = two_pass.Step();
    ASSERT_TRUE(a.finite && b.finite);
    // Other summation order and the one-pass variance (>= 10 correct digits
    // by the cancellation guard): 1e-10 relative is far above both and far
    // below a wrong formula (a variance off by 1 % moves it by ~1e-3).
    ASSERT_NEAR(a.log_likelihood, b.log_likelihood, 1e-10 * std::abs(b.log_likelihood))
        << "iteration " << iteration;
  }
  const long long before = DataPassCount();
  one_pass.Step();
  EXPECT_EQ(DataPassCount() - before, 1);
}

}  // namespace
}  // namespace moelab::detail
