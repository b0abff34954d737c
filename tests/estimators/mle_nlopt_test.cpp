#include "moelab/estimators/mle_nlopt.hpp"

#include <cmath>
#include <limits>
#include <string>

#include <gtest/gtest.h>

#include "moelab/core/rng.hpp"
#include "moelab/estimators/em.hpp"
#include "moelab/estimators/initialization.hpp"
#include "moelab/estimators/objective.hpp"
#include "moelab/model/model_shape.hpp"
#include "moelab/model/gaussian_moe.hpp"
#include "moelab/simulation/presets.hpp"
#include "moelab/simulation/simulate.hpp"
#include "support/standard_errors.hpp"

namespace moelab {
namespace {

Dataset PresetData(const std::string& name, Index n, std::uint64_t seed) {
  const Preset preset = GetPreset(name);
  Rng rng(seed);
  return Simulate(preset.truth, preset.design, n, rng);
}

// A start near (not at) the softmax-exact truth.
MoeParams NearSoftmaxTruth() {
  MoeParams init = GetPreset("softmax-exact").truth;
  init.gate.bias[0] += 0.5;
  init.gate.slope(0, 0) -= 1.0;
  init.experts.intercept.array() += 0.3;
  init.experts.variance.array() += 0.1;
  return init;
}

// One expert with d = 2: y = 1 + 2 x1 - x2 + N(0, 0.25).
Dataset LinearData(Index n, std::uint64_t seed) {
  Rng rng(seed);
  Dataset data;
  data.X.resize(n, 2);
  data.y.resize(n);
  for (Index r = 0; r < n; ++r) {
    data.X(r, 0) = UniformReal(rng, -1.0, 1.0);
    data.X(r, 1) = UniformReal(rng, -1.0, 1.0);
    data.y[r] = 1.0 + 2.0 * data.X(r, 0) - data.X(r, 1) + 0.5 * StandardNormal(rng);
  }
  return data;
}

MoeParams OneExpert(Index d) {
  MoeParams p;
  p.gate.kind = GateKind::kSoftmax;
  p.gate.bias = Vector::Zero(1);
  p.gate.slope = Matrix::Zero(1, d);
  p.experts.intercept = Vector::Zero(1);
  p.experts.slope = Matrix::Zero(1, d);
  p.experts.variance = Vector::Ones(1);
  return p;
}

TEST(FitMleNloptTest, OneExpertEqualsOlsAndTheMleResidualVariance) {
  const Dataset data = LinearData(500, 21);
  MleNloptOptions options;
  const FitResult fit = FitMleNlopt(data, OneExpert(2), options);
  ASSERT_TRUE(fit.IsUsable()) << fit.message;

  // Closed form: OLS on (1, x) and the MLE variance RSS / n.
  Matrix Z(data.size(), 3);
  Z.col(0).setOnes();
  Z.rightCols(2) = data.X;
  const Vector beta = Z.colPivHouseholderQr().solve(data.y);
  const double variance = (data.y - Z * beta).squaredNorm() / data.size();

  // The optimiser stops at ftol_rel 1e-12 on -l ~ 360; near a quadratic
  // optimum the parameter error is then about sqrt(2e-12 |l| / curvature)
  // ~ sqrt(1e-9 * 0.25 / 500) ~ 1e-6 or less, so 1e-5 is a safe bound while
  // a wrong gradient or a wrong variance convention (std vs variance, n vs
  // n - p) is off by >= 1e-3.
  EXPECT_NEAR(fit.params.experts.intercept[0], beta[0], 1e-5);
  EXPECT_NEAR(fit.params.experts.slope(0, 0), beta[1], 1e-5);
  EXPECT_NEAR(fit.params.experts.slope(0, 1), beta[2], 1e-5);
  EXPECT_NEAR(fit.params.experts.variance[0], variance, 1e-5 * variance);
  // The reported log-likelihood is the model's at the returned parameters.
  EXPECT_NEAR(fit.log_likelihood, GaussianMoe(fit.params).LogLikelihood(data),
              1e-10 * std::abs(fit.log_likelihood));
  EXPECT_EQ(fit.objective, -fit.log_likelihood);
  EXPECT_EQ(fit.estimator, "mle-nlopt");
}

// The preset's data at n and the [Demyst] near-truth start of its fitted shape.
struct PresetProblem {
  Dataset data;
  MoeParams init;
};

PresetProblem NearTruthProblem(const std::string& name, Index n) {
  const Preset preset = GetPreset(name);
  Rng rng(DeriveSeed(77, static_cast<std::uint64_t>(n), 0));
  PresetProblem problem;
  problem.data = Simulate(preset.truth, preset.design, n, rng);
  ModelShape shape = ShapeOf(preset.truth);
  shape.num_experts = preset.fitted_experts;
  if (preset.fitted_top_k > 0) shape.top_k = preset.fitted_top_k;
  problem.init = InitNearTruth(preset.truth, shape, n, rng);
  return problem;
}

double RelativeGap(double a, double b) { return std::abs(a - b) / std::abs(b); }

TEST(FitMleNloptTest, AgreesWithEmOnTheExactlySpecifiedPresets) {
  // n = 20000 as the issue asks. EM runs to a relative change of 1e-10 so
  // that the comparison is about where the two methods end, not about EM's
  // 1e-6 stopping rule (which may stop up to rho/(1-rho) * 1e-6 short of the
  // optimum at linear rate rho). Both then sit at the same local maximum; the
  // remaining differences are the optimisers' tolerances (~1e-12 relative in
  // practice), so 1e-6 relative leaves a wide margin while two different
  // stationary points, or a wrong gradient, differ by far more.
  for (const std::string name : {"softmax-exact", "topk-exact", "temperature", "activation"}) {
    SCOPED_TRACE(name);
    const PresetProblem problem = NearTruthProblem(name, 20000);
    EmOptions em_options;
    em_options.relative_tolerance = 1e-10;
    const FitResult em = FitEm(problem.data, problem.init, em_options);
    const FitResult mle = FitMleNlopt(problem.data, problem.init, MleNloptOptions{});
    ASSERT_TRUE(em.IsUsable()) << em.message;
    ASSERT_TRUE(mle.IsUsable()) << mle.message;
    EXPECT_LE(RelativeGap(em.log_likelihood, mle.log_likelihood), 1e-6)
        << "EM " << em.log_likelihood << " vs MLE " << mle.log_likelihood;
  }
}

// topk-over is deliberately not compared: its observed likelihood jumps where
// the top-3 selection switches, so the two methods end in different
// selection patterns rather than at one optimum. Measured at n = 20000 from
// the same near-truth start: EM -21009.91 (6 iterations), L-BFGS -20906.73
// (1061 evaluations, stopped by xtol at a selection kink with gradient
// max-norm 175), and EM restarted at the L-BFGS point climbs on to -20901.17.
TEST(FitMleNloptTest, AgreesWithEmOnTheOverSpecifiedSoftmaxPreset) {
  // With k = 3 > k* = 2 the likelihood has a flat ridge (merged atoms) along
  // which EM converges sublinearly: from the same start it is still 4e-5
  // relative below the MLE after 20000 iterations (145 s) at n = 20000
  // (measured; see the report). So the agreement is checked from both
  // sides instead: (1) the MLE optimum is a fixed point of EM - EM started
  // there cannot raise it by more than 1e-6 relative; (2) the EM estimate
  // under the published protocol is next to the MLE's optimum - L-BFGS
  // started there ends within 1e-4 of L-BFGS from the common start.
  const PresetProblem problem = NearTruthProblem("softmax-over", 20000);
  const FitResult mle = FitMleNlopt(problem.data, problem.init, MleNloptOptions{});
  ASSERT_TRUE(mle.IsUsable()) << mle.message;

  EmOptions polish;
  polish.relative_tolerance = 1e-12;
  polish.max_iterations = 100;
  const FitResult em_from_mle = FitEm(problem.data, mle.params, polish);
  ASSERT_TRUE(em_from_mle.IsUsable()) << em_from_mle.message;
  // EM never decreases the likelihood (up to round-off, 1e-10 relative).
  EXPECT_GE(em_from_mle.log_likelihood, mle.log_likelihood - 1e-10 * std::abs(mle.log_likelihood));
  EXPECT_LE(RelativeGap(em_from_mle.log_likelihood, mle.log_likelihood), 1e-6);

  const FitResult em = FitEm(problem.data, problem.init, EmOptions{});
  ASSERT_TRUE(em.IsUsable()) << em.message;
  const FitResult mle_from_em = FitMleNlopt(problem.data, em.params, MleNloptOptions{});
  ASSERT_TRUE(mle_from_em.IsUsable()) << mle_from_em.message;
  EXPECT_GE(mle_from_em.log_likelihood, em.log_likelihood);
  // The ridge holds several stationary points close together: since the
  // estimators fit standardised data (issue 14), L-BFGS from the EM estimate
  // stops at -8658.52 (gradient max-norm 6e-4), from the common start at
  // -8657.86 (3e-3); EM polished to 1e-9 leads to the same -8658.52. So the
  // EM estimate is within 1e-4 relative of the MLE's optimum (measured
  // 7.7e-5), not necessarily in the basin L-BFGS reaches from the start.
  EXPECT_LE(RelativeGap(mle_from_em.log_likelihood, mle.log_likelihood), 1e-4);
}

TEST(FitMleNloptTest, ImprovesOnTheStartAndReturnsGaugeNormalisedParameters) {
  const Dataset data = PresetData("softmax-exact", 1000, 4);
  MoeParams init = NearSoftmaxTruth();
  init.gate.bias.array() += 2.0;  // a gauge shift of the start: same density
  const double start_ll = GaussianMoe(init).LogLikelihood(data);
  const FitResult fit = FitMleNlopt(data, init, MleNloptOptions{});
  ASSERT_EQ(fit.termination, TerminationType::kConverged) << fit.message;
  EXPECT_GT(fit.log_likelihood, start_ll);
  EXPECT_EQ(fit.params.gate.bias[1], 0.0);
  EXPECT_EQ(fit.params.gate.slope(1, 0), 0.0);
}

TEST(FitMleNloptTest, ReachesTheMaximumToATenthOfAStandardErrorFromThreeAway) {
  // The band comes from the problem: the maximum is found independently (EM
  // run to a 1e-13 relative change), its standard errors from the observed
  // information there (support/standard_errors), and the start puts every
  // free parameter 3 standard errors from it. NLopt stops at ftol 1e-12 on
  // |l| ~ 1e3, i.e. within sqrt(2e-12 |l|) ~ 5e-5 standard errors of a
  // quadratic maximum, so 0.1 is wide; an optimiser that stops after a step
  // or two is still standard errors away (checked below).
  const Dataset data = PresetData("softmax-exact", 1000, 4);
  EmOptions tight;
  tight.relative_tolerance = 1e-13;
  const FitResult reference = FitEm(data, NearSoftmaxTruth(), tight);
  ASSERT_TRUE(reference.IsUsable()) << reference.message;
  const Vector se = testing::StandardErrors(data, reference.params);
  ASSERT_TRUE(se.allFinite());
  const Vector best = testing::PackedParameters(data, reference.params);
  const MoeObjective objective(data, reference.params, false);
  const MoeParams start = objective.Unpack(best + 3.0 * se);
  const auto distance = [&](const MoeParams& params) {
    return ((testing::PackedParameters(data, params) - best).array() / se.array())
        .abs()
        .maxCoeff();
  };
  ASSERT_NEAR(distance(start), 3.0, 1e-9);
  const FitResult fit = FitMleNlopt(data, start, MleNloptOptions{});
  ASSERT_EQ(fit.termination, TerminationType::kConverged) << fit.message;
  EXPECT_LE(distance(fit.params), 0.1);
  // The band can fail: two evaluations (one step) end far outside it.
  MleNloptOptions one_step;
  one_step.max_evaluations = 2;
  EXPECT_GT(distance(FitMleNlopt(data, start, one_step).params), 0.1);
  // The truth is a draw away from the maximum: within 4 standard errors.
  EXPECT_LE(distance(GetPreset("softmax-exact").truth), 4.0);
}

TEST(FitMleNloptTest, FittingTheTemperatureNeverEndsBelowTheFixedTemperatureFit) {
  const Dataset data = PresetData("activation", 2000, 6);
  MoeParams init = GetPreset("activation").truth;
  init.gate.temperature = 1.0;  // truth 0.5
  MleNloptOptions fixed;
  MleNloptOptions free = fixed;
  free.fit_temperature = true;
  const FitResult fixed_fit = FitMleNlopt(data, init, fixed);
  const FitResult free_fit = FitMleNlopt(data, init, free);
  ASSERT_TRUE(fixed_fit.IsUsable()) << fixed_fit.message;
  ASSERT_TRUE(free_fit.IsUsable()) << free_fit.message;
  EXPECT_EQ(fixed_fit.params.gate.temperature, 1.0);
  EXPECT_NE(free_fit.params.gate.temperature, 1.0);
  // The fixed-tau model is nested in the free one and both start from the
  // same point, so the free fit can only be better up to the stopping
  // tolerance (ftol_rel 1e-12; 1e-9 relative leaves room for round-off).
  EXPECT_GE(free_fit.log_likelihood,
            fixed_fit.log_likelihood - 1e-9 * std::abs(fixed_fit.log_likelihood));
}

TEST(FitMleNloptTest, CallbackStopMapsToUserStoppedWithTheLastImprovementKept) {
  const Dataset data = PresetData("softmax-exact", 500, 2);
  MleNloptOptions options;
  options.record_history = true;
  int calls = 0;
  options.callback = [&calls](const IterationSummary&) {
    return ++calls == 3 ? CallbackReturn::kStop : CallbackReturn::kContinue;
  };
  const FitResult fit = FitMleNlopt(data, NearSoftmaxTruth(), options);
  EXPECT_EQ(fit.termination, TerminationType::kUserStopped) << fit.message;
  EXPECT_EQ(calls, 3);
  ASSERT_EQ(fit.history.size(), 3u);
  EXPECT_EQ(fit.log_likelihood, fit.history.back().log_likelihood);
  EXPECT_EQ(fit.iterations, fit.history.back().iteration);
}

TEST(FitMleNloptTest, MaxEvaluationsMapToMaxIterations) {
  const Dataset data = PresetData("softmax-exact", 500, 2);
  MleNloptOptions options;
  options.max_evaluations = 5;
  const FitResult fit = FitMleNlopt(data, NearSoftmaxTruth(), options);
  EXPECT_EQ(fit.termination, TerminationType::kMaxIterations) << fit.message;
  EXPECT_EQ(fit.evaluations, 5);
  EXPECT_LE(fit.iterations, fit.evaluations);
  EXPECT_TRUE(fit.IsUsable());
}

TEST(FitMleNloptTest, RoundoffLimitedMapsToStalledWithTheBestParametersKept) {
  // BOBYQA with both tolerances at 0 shrinks its trust region until
  // round-off stops it (NLopt throws nlopt::roundoff_limited).
  const Dataset data = PresetData("softmax-exact", 300, 3);
  MleNloptOptions options;
  options.algorithm = "LN_BOBYQA";
  options.relative_tolerance = 0.0;
  options.parameter_tolerance = 0.0;
  options.record_history = true;
  const MoeParams init = NearSoftmaxTruth();
  const FitResult fit = FitMleNlopt(data, init, options);
  EXPECT_EQ(fit.termination, TerminationType::kStalled) << fit.message;
  EXPECT_NE(fit.message.find("ROUNDOFF_LIMITED"), std::string::npos) << fit.message;
  EXPECT_TRUE(fit.IsUsable());
  EXPECT_LT(fit.iterations, options.max_evaluations);
  // Parameters kept: the best iterate, whose log-likelihood is the largest
  // in the history and above the start.
  ASSERT_FALSE(fit.history.empty());
  EXPECT_EQ(fit.log_likelihood, fit.history.back().log_likelihood);
  EXPECT_GT(fit.log_likelihood, GaussianMoe(init).LogLikelihood(data));
  EXPECT_NEAR(fit.log_likelihood, GaussianMoe(fit.params).LogLikelihood(data),
              1e-10 * std::abs(fit.log_likelihood));
}

TEST(FitMleNloptTest, NonFiniteStartIsReportedNotThrown) {
  Dataset data = PresetData("softmax-exact", 100, 2);
  data.y[7] = 1e200;  // finite, but its squared residual overflows
  const MoeParams init = NearSoftmaxTruth();
  FitResult fit;
  ASSERT_NO_THROW(fit = FitMleNlopt(data, init, MleNloptOptions{}));
  EXPECT_EQ(fit.termination, TerminationType::kNumericalFailure);
  EXPECT_FALSE(fit.IsUsable());
  EXPECT_EQ(fit.iterations, 0);
  const MoeParams expected = NormaliseGauge(init);
  EXPECT_TRUE(fit.params.experts.intercept.isApprox(expected.experts.intercept));
  EXPECT_TRUE(fit.params.gate.slope.isApprox(expected.gate.slope));
  EXPECT_FALSE(std::isnan(fit.log_likelihood));
}

TEST(FitMleNloptTest, HistoryIsMonotoneAndIsWhatTheCallbackSaw) {
  const Dataset data = PresetData("topk-exact", 1000, 9);
  MoeParams init = GetPreset("topk-exact").truth;
  init.experts.intercept.array() += 0.2;
  MleNloptOptions options;
  options.record_history = true;
  std::vector<double> seen;
  options.callback = [&seen](const IterationSummary& s) {
    seen.push_back(s.log_likelihood);
    return CallbackReturn::kContinue;
  };
  const FitResult fit = FitMleNlopt(data, init, options);
  ASSERT_TRUE(fit.IsUsable()) << fit.message;
  ASSERT_EQ(seen.size(), fit.history.size());
  for (size_t t = 0; t < fit.history.size(); ++t) {
    EXPECT_EQ(seen[t], fit.history[t].log_likelihood);
    if (t > 0) {
      EXPECT_GT(fit.history[t].log_likelihood, fit.history[t - 1].log_likelihood);
      EXPECT_GT(fit.history[t].iteration, fit.history[t - 1].iteration);
    }
  }
  EXPECT_EQ(fit.history.back().log_likelihood, fit.log_likelihood);
}

TEST(FitMleNloptTest, SameInputGivesIdenticalResults) {
  const Dataset data = PresetData("temperature", 800, 12);
  const MoeParams init = GetPreset("temperature").truth;
  const FitResult a = FitMleNlopt(data, init, MleNloptOptions{});
  const FitResult b = FitMleNlopt(data, init, MleNloptOptions{});
  EXPECT_EQ(a.log_likelihood, b.log_likelihood);
  EXPECT_EQ(a.iterations, b.iterations);
  EXPECT_EQ(a.params.gate.bias, b.params.gate.bias);
  EXPECT_EQ(a.params.experts.variance, b.params.experts.variance);
}

TEST(FitMleNloptTest, VarianceFloorIsALowerBoundAndHitsAreCounted) {
  // Noise-free data: the likelihood grows without bound as the variance
  // goes to 0, so the fit must end on the floor.
  Dataset data = LinearData(50, 3);
  data.y = (1.0 + 2.0 * data.X.col(0).array() - data.X.col(1).array()).matrix();
  MleNloptOptions options;
  options.variance_floor = 1e-4;  // relative to Var(y) (variance_floor.hpp)
  const double floor = AbsoluteVarianceFloor(options.variance_floor, data.y);
  const FitResult fit = FitMleNlopt(data, OneExpert(2), options);
  EXPECT_TRUE(fit.IsUsable()) << fit.message;
  EXPECT_NEAR(fit.params.experts.variance[0], floor, 1e-6 * floor);
  EXPECT_EQ(fit.variance_floor_hits, 1);

  // A start below the floor is raised to it (and counted) rather than
  // rejected by NLopt.
  MoeParams low = OneExpert(2);
  low.experts.variance[0] = 1e-6 * floor;
  const FitResult from_low = FitMleNlopt(data, low, options);
  EXPECT_GE(from_low.params.experts.variance[0], floor * (1.0 - 1e-12));
  EXPECT_GE(from_low.variance_floor_hits, 1);
}

TEST(FitMleNloptTest, EveryAcceptedAlgorithmRunsWithTheBoundsAndImproves) {
  // The accepted list must only hold algorithms NLopt runs with our bound
  // constraints (a rejected one would come back as kInvalidInput).
  const Dataset data = PresetData("softmax-exact", 300, 3);
  const MoeParams init = NearSoftmaxTruth();
  const double start_ll = GaussianMoe(init).LogLikelihood(data);
  for (const std::string algorithm :
       {"LD_LBFGS", "LD_MMA", "LD_CCSAQ", "LD_SLSQP", "LD_TNEWTON", "LD_TNEWTON_PRECOND",
        "LD_TNEWTON_RESTART", "LD_TNEWTON_PRECOND_RESTART", "LD_VAR1", "LD_VAR2", "LN_BOBYQA",
        "LN_COBYLA", "LN_NELDERMEAD", "LN_SBPLX", "LN_NEWUOA_BOUND"}) {
    SCOPED_TRACE(algorithm);
    MleNloptOptions options;
    options.algorithm = algorithm;
    options.max_evaluations = 200;
    const FitResult fit = FitMleNlopt(data, init, options);
    EXPECT_TRUE(fit.IsUsable()) << fit.message;
    EXPECT_LE(fit.iterations, 200);
    EXPECT_GT(fit.log_likelihood, start_ll);
  }
}

TEST(FitMleNloptTest, BadInputThrows) {
  const Dataset data = PresetData("softmax-exact", 200, 1);
  const MoeParams init = NearSoftmaxTruth();
  const MleNloptOptions ok;

  Dataset nan_y = data;
  nan_y.y[4] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(FitMleNlopt(nan_y, init, ok), std::invalid_argument);
  Dataset inf_x = data;
  inf_x.X(2, 0) = std::numeric_limits<double>::infinity();
  EXPECT_THROW(FitMleNlopt(inf_x, init, ok), std::invalid_argument);
  Dataset short_y = data;
  short_y.y.conservativeResize(150);
  EXPECT_THROW(FitMleNlopt(short_y, init, ok), std::invalid_argument);
  Dataset wide = data;
  wide.X = Matrix::Zero(200, 2);
  EXPECT_THROW(FitMleNlopt(wide, init, ok), std::invalid_argument);

  // k = 2, d = 1: 2 free gate + 2 * 3 expert parameters = 8 > n = 7.
  Dataset tiny = data;
  tiny.X.conservativeResize(7, 1);
  tiny.y.conservativeResize(7);
  EXPECT_THROW(FitMleNlopt(tiny, init, ok), std::invalid_argument);

  MoeParams top_k = GetPreset("topk-exact").truth;
  top_k.gate.top_k = 4;  // K > k
  EXPECT_THROW(FitMleNlopt(data, top_k, ok), std::invalid_argument);
  MoeParams negative_variance = init;
  negative_variance.experts.variance[0] = -1.0;
  EXPECT_THROW(FitMleNlopt(data, negative_variance, ok), std::invalid_argument);

  auto with = [&](auto change) {
    MleNloptOptions o;
    change(o);
    return o;
  };
  EXPECT_THROW(with([](MleNloptOptions& o) { o.algorithm = "LD_NOPE"; }).Validate(),
               std::invalid_argument);
  EXPECT_THROW(with([](MleNloptOptions& o) { o.algorithm = "GN_DIRECT"; }).Validate(),
               std::invalid_argument);  // global: needs finite bounds on everything
  EXPECT_THROW(with([](MleNloptOptions& o) { o.max_evaluations = 0; }).Validate(),
               std::invalid_argument);
  EXPECT_THROW(with([](MleNloptOptions& o) { o.relative_tolerance = -1.0; }).Validate(),
               std::invalid_argument);
  EXPECT_THROW(with([](MleNloptOptions& o) {
                 o.parameter_tolerance = std::numeric_limits<double>::quiet_NaN();
               }).Validate(),
               std::invalid_argument);
  EXPECT_THROW(with([](MleNloptOptions& o) { o.variance_floor = 0.0; }).Validate(),
               std::invalid_argument);
  // FitMleNlopt validates its options too.
  EXPECT_THROW(FitMleNlopt(data, init, with([](MleNloptOptions& o) { o.max_evaluations = -3; })),
               std::invalid_argument);
  EXPECT_NO_THROW(ok.Validate());
}

}  // namespace
}  // namespace moelab
