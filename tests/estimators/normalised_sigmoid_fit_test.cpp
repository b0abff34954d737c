// The normalised sigmoid gate through the whole pipeline (simulate, EM on
// the generic gate path, MLE, JSON, losses, a rate study), with nothing but
// the gate, its preset and the registry added for it.
#include <gtest/gtest.h>

#include <cmath>
#include <algorithm>
#include <filesystem>

#include "moelab/estimators/em.hpp"
#include "moelab/estimators/initialization.hpp"
#include "moelab/estimators/mle_nlopt.hpp"
#include "moelab/io/params_json.hpp"
#include "moelab/metrics/voronoi_loss.hpp"
#include "moelab/model/gates/gate.hpp"
#include "moelab/model/gaussian_moe.hpp"
#include "moelab/rates/rate_study.hpp"
#include "moelab/rates/theory.hpp"
#include "moelab/simulation/presets.hpp"
#include "moelab/simulation/simulate.hpp"
#include "support/standard_errors.hpp"
#include "support/test_util.hpp"

namespace moelab {
namespace {

struct Problem {
  Preset preset;
  Dataset data;
  MoeParams start;
};

// The preset's data and a data-driven start (not the truth), or with
// `top_k` > 0 the same truth routed over its top-K of 3 experts.
Problem MakeProblem(Index n, std::uint64_t seed, int top_k = 0) {
  Problem p;
  p.preset = GetPreset("normalised-sigmoid");
  if (top_k > 0) {
    MoeParams& t = p.preset.truth;
    t.gate.bias = (Vector(3) << 1.0, -0.5, 0.2).finished();
    t.gate.slope = (Matrix(3, 1) << 4.0, -2.0, 0.5).finished();
    t.experts.intercept = (Vector(3) << 2.0, -2.0, 0.0).finished();
    t.experts.slope = (Matrix(3, 1) << -1.0, 2.0, 4.0).finished();
    t.experts.variance = (Vector(3) << 0.25, 0.16, 0.09).finished();
    t.gate.top_k = top_k;
    p.preset.fitted_experts = 3;
  }
  Rng rng(seed);
  p.data = Simulate(p.preset.truth, p.preset.design, n, rng);
  ModelShape shape = ShapeOf(p.preset.truth);
  p.start = InitNearTruth(p.preset.truth, shape, n, rng);
  return p;
}

TEST(NormalisedSigmoidFitTest, EmRecoversTheTruthWithinFourStandardErrors) {
  const Problem p = MakeProblem(4000, 11);
  const FitResult fit = FitEm(p.data, p.start, EmOptions{});
  ASSERT_EQ(fit.termination, TerminationType::kConverged) << fit.message;
  // Standard errors from the observed information at the fit (independent
  // of EM). With 12 parameters, |error| <= 4 SE fails by chance with
  // probability ~ 12 * 6e-5; a wrong gradient or a stalled fit is off by far more.
  const Vector se = testing::StandardErrors(p.data, fit.params);
  ASSERT_TRUE(se.allFinite());
  const Vector error = testing::PackedParameters(p.data, fit.params) -
                       testing::PackedParameters(p.data, p.preset.truth);
  for (Index j = 0; j < se.size(); ++j) {
    EXPECT_LE(std::abs(error[j]), 4.0 * se[j]) << "packed entry " << j;
  }
  // The loss sees the gate (weights sigmoid(beta0), no gauge shift): zero at
  // the truth, positive and finite at the fit, one atom per cell.
  EXPECT_EQ(ComputeVoronoiLoss(p.preset.truth, p.preset.truth).value, 0.0);
  const VoronoiLossResult loss = ComputeVoronoiLoss(p.preset.truth, fit.params);
  EXPECT_TRUE(std::isfinite(loss.value) && loss.value > 0.0);
  EXPECT_EQ(loss.cells.largest(), 1);
}

TEST(NormalisedSigmoidFitTest, EmNeverLowersTheLikelihoodDenseOrTopK) {
  for (int top_k : {0, 2}) {
    SCOPED_TRACE(top_k);
    const Problem p = MakeProblem(1500, 12, top_k);
    EmOptions options;
    options.record_history = true;
    const FitResult fit = FitEm(p.data, p.start, options);
    ASSERT_TRUE(fit.IsUsable()) << fit.message;
    ASSERT_GE(fit.history.size(), 3u);
    for (std::size_t t = 1; t < fit.history.size(); ++t) {
      const double previous = fit.history[t - 1].log_likelihood;
      // Generalised EM: non-decreasing up to the round-off EM itself allows.
      EXPECT_GE(fit.history[t].log_likelihood, previous - 1e-10 * std::abs(previous)) << t;
    }
    EXPECT_EQ(fit.likelihood_decreases, 0);
    // The reported log-likelihood is the model's at the returned parameters.
    EXPECT_NEAR(fit.log_likelihood, GaussianMoe(fit.params).LogLikelihood(p.data),
                1e-9 * std::abs(fit.log_likelihood));
  }
}

TEST(NormalisedSigmoidFitTest, MleAgreesWithEm) {
  const Problem p = MakeProblem(3000, 13);
  EmOptions tight;
  tight.relative_tolerance = 1e-12;  // compare where the methods end, not EM's stop
  const FitResult em = FitEm(p.data, p.start, tight);
  const FitResult mle = FitMleNlopt(p.data, p.start, MleNloptOptions{});
  ASSERT_TRUE(em.IsUsable()) << em.message;
  ASSERT_TRUE(mle.IsUsable()) << mle.message;
  // Same local maximum: log-likelihoods to 1e-7 relative (both optimisers stop
  // at ~1e-12), parameters to a tenth of a standard error.
  EXPECT_LE(std::abs(em.log_likelihood - mle.log_likelihood), 1e-7 * std::abs(mle.log_likelihood));
  const Vector se = testing::StandardErrors(p.data, mle.params);
  const Vector gap = testing::PackedParameters(p.data, em.params) -
                     testing::PackedParameters(p.data, mle.params);
  for (Index j = 0; j < se.size(); ++j) EXPECT_LE(std::abs(gap[j]), 0.1 * se[j]) << j;
}

TEST(NormalisedSigmoidFitTest, ParamsJsonRoundTripIsExact) {
  Problem p = MakeProblem(10, 14, 2);
  for (int top_k : {0, 2}) {
    MoeParams params = p.preset.truth;
    params.gate.top_k = top_k;
    params.gate.bias[0] = 0.1 + 1e-17;  // not representable in short decimal
    const MoeParams back = ParamsFromJson(ParamsToJson(params), "test");
    EXPECT_EQ(back.gate.kind, GateKind::kNormalisedSigmoid);
    EXPECT_EQ(back.gate.top_k, top_k);
    EXPECT_EQ(back.gate.bias, params.gate.bias);
    EXPECT_EQ(back.gate.slope, params.gate.slope);
    EXPECT_EQ(back.experts.variance, params.experts.variance);
  }
}

TEST(NormalisedSigmoidFitTest, ARateStudyRunsAndReportsNoTheory) {
  const Preset preset = GetPreset("normalised-sigmoid");
  RateStudyConfig c;
  c.name = "normalised-sigmoid";
  c.truth = preset.truth;
  c.design = preset.design;
  c.fitted = ShapeOf(preset.truth);
  c.fitted.num_experts = preset.fitted_experts;
  c.sample_sizes = {200, 400, 800};
  c.replications = 2;
  c.base_seed = 5;
  ASSERT_NO_THROW(c.Validate());
  const std::string dir = testing::MakeTempDir("sigmoid_study");
  RateStudyRunOptions run;
  run.num_threads = 1;
  run.progress = CellRunnerOptions::Progress::kOff;
  const RateStudyResult result = RunRateStudy(c, dir, run);
  ASSERT_TRUE(result.run.complete);
  ASSERT_EQ(result.records.size(), 6u);
  const std::vector<std::string> columns = c.ValueColumns();
  const auto loss = std::find(columns.begin(), columns.end(), "loss_d1") - columns.begin();
  for (const CellRecord& record : result.records) {
    EXPECT_EQ(record.status.find("error"), std::string::npos) << record.status;
    EXPECT_TRUE(std::isfinite(record.values[loss])) << record.status;
  }
  // No theory for any column (never the softmax rates).
  for (const std::string& column : columns) {
    const TheoryRate theory = TheoryFor(column, c.Setting());
    EXPECT_EQ(theory.kind, TheoryRate::Kind::kNone) << column;
    EXPECT_EQ(Judge(theory, true, -0.5, -0.6, -0.4), Verdict::kNoTheory) << column;
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace moelab
