// Tests of FitAcceleratedEm (estimators/accelerated_em.hpp): the same optimum
// as plain EM on exact and over-fitted data, monotone log-likelihood, fewer
// passes over the data, budgets reported as such, bad options.
#include "moelab/estimators/accelerated_em.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <string>

#include "moelab/core/rng.hpp"
#include "moelab/estimators/certified_fit.hpp"
#include "moelab/estimators/em.hpp"
#include "moelab/estimators/initialization.hpp"
#include "moelab/model/gaussian_moe.hpp"
#include "moelab/model/model_shape.hpp"
#include "moelab/simulation/presets.hpp"
#include "moelab/simulation/simulate.hpp"

namespace moelab {
namespace {

struct Problem {
  Dataset data;
  MoeParams start;
};

// The softmax-exact truth (k* = 2, d = 1) fitted with k experts from a
// data-driven or the published near-truth start.
Problem SoftmaxProblem(Index n, Index k, std::uint64_t seed, bool near_truth = false) {
  const Preset preset = GetPreset("softmax-exact");
  Rng rng(seed);
  Problem p;
  p.data = Simulate(preset.truth, preset.design, n, rng);
  ModelShape shape = ShapeOf(preset.truth);
  shape.num_experts = k;
  p.start = near_truth ? InitNearTruth(preset.truth, shape, n, rng) : InitDataDriven(p.data, shape, rng);
  return p;
}

// Plain EM run to its fixed point: absolute tolerance 1e-12 on the change of
// one iteration. EM converges linearly here (finite n: a strict maximum), so
// its remaining gain is a geometric tail far below 1e-8 when its steps are
// 1e-12 unless the rate is within 1e-4 of 1, which the iteration counts
// below (thousands, not millions) rule out.
FitResult PlainEmToFixedPoint(const Problem& p) {
  EmOptions em;
  em.relative_tolerance = 0.0;
  em.absolute_tolerance = 1e-12;
  em.max_iterations = 400000;
  return FitEm(p.data, p.start, em);
}

AcceleratedEmOptions Tight() {
  AcceleratedEmOptions o = CertifiedFitterDefaults();  // relative rule off
  o.em.absolute_tolerance = 1e-12;
  o.em.max_iterations = 400000;
  return o;
}

TEST(AcceleratedEmTest, SameOptimumAsPlainEmOnExactFittedData) {
  const Problem p = SoftmaxProblem(2000, 2, 11);
  const FitResult plain = PlainEmToFixedPoint(p);
  const FitResult fast = FitAcceleratedEm(p.data, p.start, Tight());
  ASSERT_EQ(plain.termination, TerminationType::kConverged) << plain.message;
  ASSERT_EQ(fast.termination, TerminationType::kConverged) << fast.message;
  EXPECT_EQ(fast.estimator, "em-squarem");
  EXPECT_NEAR(fast.log_likelihood, plain.log_likelihood, 1e-8);
  // The reported log-likelihood is that of the returned parameters.
  EXPECT_NEAR(GaussianMoe(fast.params).LogLikelihood(p.data), fast.log_likelihood,
              1e-9 * std::abs(fast.log_likelihood));
}

TEST(AcceleratedEmTest, SameOptimumAsPlainEmOnOverFittedDataWithFarFewerPasses) {
  // Seed 16, near-truth start: two atoms share a true cell and plain EM
  // crawls (2419 iterations when written). The over-fitted likelihood is
  // multimodal, and "same optimum" holds only where both methods stay in one
  // basin: over seeds 1-16 (measured on standardised data) 15 ended within
  // 2e-6 of each other - SQUAREM usually the higher, since plain EM's 1e-12
  // steps are still crawling - and with seed 3 SQUAREM's extrapolation
  // reached another stationary point 0.75 below plain EM's. That is why the
  // certified protocol uses several starts and the split-and-refit probe.
  // Within the basin the optimum is a ridge flat to ~1e-7: SQUAREM can stop
  // on it where EM's steps fall below the round-off of the parameters (20000
  // further EM steps from such an end point returned the same bits), a gap
  // still 7e6 times smaller than the 0.75 to the other stationary point.
  const Problem p = SoftmaxProblem(2000, 3, 16, /*near_truth=*/true);
  const FitResult plain = PlainEmToFixedPoint(p);
  const FitResult fast = FitAcceleratedEm(p.data, p.start, Tight());
  ASSERT_EQ(plain.termination, TerminationType::kConverged) << plain.message;
  ASSERT_EQ(fast.termination, TerminationType::kConverged) << fast.message;
  // Where either stops on the ridge is set by round-off (plain EM stops at
  // the first change under 1e-12, the round-off of a log-likelihood of ~850
  // over 2000 rows): 4e-8 below plain EM with the one-pass M-step, 5.4e-8
  // above it with the FMA kernel alone. So: SQUAREM within 1e-7 below plain
  // EM and no more than 2e-6 above it (the spread over seeds above).
  EXPECT_GE(fast.log_likelihood, plain.log_likelihood - 1e-7)
      << "plain " << plain.iterations << " iterations, accelerated " << fast.iterations;
  EXPECT_LE(fast.log_likelihood, plain.log_likelihood + 2e-6)
      << "plain " << plain.iterations << " iterations, accelerated " << fast.iterations;
  // Over-fitted EM is slow (thousands of iterations); SQUAREM must cut the
  // passes over the data by a large factor, or it is not worth having. 3x is
  // far below what it achieves (see the benchmark) but fails for a broken
  // extrapolation that is always rejected (then it costs ~1.5x MORE).
  // Measured when written: 4951 passes against 851.
  EXPECT_GT(plain.iterations, 1000);
  EXPECT_GT(plain.data_passes, 0);
  EXPECT_LT(3 * fast.data_passes, plain.data_passes)
      << "plain " << plain.data_passes << " passes, accelerated " << fast.data_passes;
}

TEST(AcceleratedEmTest, HandOffToAPolishReachesPlainEmsOptimumInAFractionOfThePasses) {
  // The certified protocol's fitter: SQUAREM until a cycle gains <= 1e-2,
  // an SLSQP polish of the exact log-likelihood, SQUAREM to 1e-8 again
  // (cut and polished again if it crawls, see the next test).
  // Seed 3, over-fitted, near-truth start: plain EM crawls 13,439
  // iterations to its fixed point. Over seeds 1-16 (measured when written)
  // the hand-off ended within 1.2e-4 of plain EM in 11 - above it, as plain
  // EM's 1e-12 steps still crawl - in another, better basin once (+1.4) and
  // in a worse one 4 times (-0.04 to -3.7): the certified protocol keeps the
  // best of several starts for that reason.
  const Problem p = SoftmaxProblem(2000, 3, 3, /*near_truth=*/true);
  const FitResult plain = PlainEmToFixedPoint(p);
  CertifiedFitOptions options;
  options.certificate.probe = false;  // the fitter only; no repairs
  options.max_probe_rounds = 0;
  const CertifiedFit handed = FitCertified(p.data, {p.start}, options);
  ASSERT_EQ(handed.fit.termination, TerminationType::kConverged) << handed.fit.message;
  EXPECT_NE(handed.fit.message.find("hand-off"), std::string::npos) << handed.fit.message;
  EXPECT_NEAR(handed.fit.log_likelihood, plain.log_likelihood, 1e-8);
  // Measured when written: 27,021 passes of plain EM against 397. 10x is
  // the target; a polish that never helps would leave SQUAREM's ~6x.
  EXPECT_LT(10 * handed.fit.data_passes, plain.data_passes)
      << "plain " << plain.data_passes << " passes, hand-off " << handed.fit.data_passes;
}

TEST(AcceleratedEmTest, CrawlingSquaremIsCutAndPolishedAgain) {
  // The same problem with polishes of only 5 SLSQP evaluations: they cannot
  // finish the flat directions, so SQUAREM crawls after each and is cut after
  // 200 EM maps and polished again, 3 polishes in all; the last SQUAREM run
  // has the whole remaining budget and must still converge - to a fixed point
  // of EM: plain EM from its end gains at most 1e-6 (SQUAREM stops crawling
  // at 1e-8 per cycle, which leaves 1e-8 / (1 - rate); measured 2.5e-8).
  // Which maximum it reaches is not fixed: five crippled polishes move the
  // iterate along flat directions, and round-off decides the basin (with the
  // kernel of issue 13's fourth round it is one 5.8 above plain EM's from the
  // start; before, plain EM's own).
  const Problem p = SoftmaxProblem(2000, 3, 3, /*near_truth=*/true);
  CertifiedFitOptions options;
  options.certificate.probe = false;
  options.max_probe_rounds = 0;
  options.polish_max_evaluations = 5;
  const CertifiedFit handed = FitCertified(p.data, {p.start}, options);
  ASSERT_EQ(handed.fit.termination, TerminationType::kConverged) << handed.fit.message;
  EXPECT_NE(handed.fit.message.find("3 SLSQP polish(es)"), std::string::npos)
      << handed.fit.message;
  EXPECT_GT(handed.fit.iterations, 2 * 200) << handed.fit.message;
  const FitResult onward = PlainEmToFixedPoint({p.data, handed.fit.params});
  ASSERT_EQ(onward.termination, TerminationType::kConverged) << onward.message;
  EXPECT_GE(onward.log_likelihood, handed.fit.log_likelihood - 1e-8);
  EXPECT_LE(onward.log_likelihood, handed.fit.log_likelihood + 1e-6);
}

TEST(AcceleratedEmTest, ScaleEquivariantWithTheFloorRelativeToVarY) {
  // Fitting c y and x / c must give the same fit in the new units, with the
  // variance floor a fixed fraction of Var(y): the fit runs on standardised
  // data like FitEm. A floor of 1e-3 Var(y) is active on this over-fitted
  // problem (the third expert shrinks onto a few points), so a floor applied
  // in the units of y instead would change the fit at one of the two scales.
  const Problem p = SoftmaxProblem(2000, 3, 5);
  AcceleratedEmOptions o = Tight();
  o.em.absolute_tolerance = 1e-10;
  o.em.variance_floor = 1e-3;
  const double c = 1000.0;
  Dataset scaled = p.data;
  scaled.y *= c;
  scaled.X /= c;
  MoeParams start = p.start;
  start.gate.slope *= c;
  start.experts.slope *= c * c;
  start.experts.intercept *= c;
  start.experts.variance *= c * c;
  const FitResult a = FitAcceleratedEm(p.data, p.start, o);
  const FitResult b = FitAcceleratedEm(scaled, start, o);
  ASSERT_TRUE(a.IsUsable()) << a.message;
  ASSERT_TRUE(b.IsUsable()) << b.message;
  const double n = static_cast<double>(p.data.size());
  EXPECT_NEAR(b.log_likelihood + n * std::log(c), a.log_likelihood, 1e-6);
  for (Index i = 0; i < 3; ++i)
    EXPECT_NEAR(b.params.experts.variance[i] / (c * c), a.params.experts.variance[i],
                1e-6 * a.params.experts.variance[i]);
  const double var_y = (p.data.y.array() - p.data.y.mean()).square().mean();
  EXPECT_GE(a.params.experts.variance.minCoeff(), (1.0 - 1e-12) * 1e-3 * var_y);
}

TEST(AcceleratedEmTest, LogLikelihoodIsMonotoneOverCycles) {
  const Problem p = SoftmaxProblem(1000, 3, 13);
  AcceleratedEmOptions o = Tight();
  o.em.absolute_tolerance = 1e-9;
  o.em.record_history = true;
  const FitResult fit = FitAcceleratedEm(p.data, p.start, o);
  ASSERT_GE(fit.history.size(), 3u);
  for (std::size_t t = 1; t < fit.history.size(); ++t) {
    const double prev = fit.history[t - 1].log_likelihood;
    EXPECT_GE(fit.history[t].log_likelihood, prev - 1e-10 * std::abs(prev)) << "cycle " << t;
  }
  EXPECT_EQ(fit.likelihood_decreases, 0);
  EXPECT_NE(fit.message.find("extrapolations accepted"), std::string::npos);
}

TEST(AcceleratedEmTest, TopKAndFittedTemperatureReachPlainEmsLikelihood) {
  for (const char* name : {"topk-exact", "temperature"}) {
    const Preset preset = GetPreset(name);
    Rng rng(21);
    const Dataset data = Simulate(preset.truth, preset.design, 1500, rng);
    ModelShape shape = ShapeOf(preset.truth);
    const MoeParams start = InitNearTruth(preset.truth, shape, data.size(), rng);
    AcceleratedEmOptions o;
    o.em.relative_tolerance = 0.0;
    o.em.absolute_tolerance = 1e-10;
    o.em.max_iterations = 20000;
    o.em.fit_temperature = std::string(name) == "temperature";
    const FitResult fast = FitAcceleratedEm(data, start, o);
    const FitResult plain = FitEm(data, start, o.em);
    ASSERT_TRUE(fast.IsUsable()) << name << ": " << fast.message;
    // Both climb from the same start; the accelerated fit may not end lower
    // than plain EM by more than plain EM's own stopping slack.
    EXPECT_GE(fast.log_likelihood, plain.log_likelihood - 1e-6) << name;
    EXPECT_EQ(fast.likelihood_decreases, 0) << name;
  }
}

TEST(AcceleratedEmTest, BudgetsEndTheFitAndSaySo) {
  const Problem p = SoftmaxProblem(1000, 3, 14);
  AcceleratedEmOptions o = Tight();
  o.em.max_iterations = 7;
  const FitResult capped = FitAcceleratedEm(p.data, p.start, o);
  EXPECT_EQ(capped.termination, TerminationType::kMaxIterations);
  EXPECT_LE(capped.iterations, 7);
  EXPECT_NE(capped.message.find("iteration budget"), std::string::npos) << capped.message;
  o.em.max_iterations = 400000;
  o.max_seconds = 1e-9;
  const FitResult timed = FitAcceleratedEm(p.data, p.start, o);
  EXPECT_EQ(timed.termination, TerminationType::kMaxIterations);
  EXPECT_NE(timed.message.find("time budget"), std::string::npos) << timed.message;
}

TEST(AcceleratedEmTest, BadOptionsNameTheField) {
  const Problem p = SoftmaxProblem(200, 2, 15);
  AcceleratedEmOptions o;
  o.max_seconds = -1.0;
  try {
    FitAcceleratedEm(p.data, p.start, o);
    FAIL() << "no throw";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("max_seconds"), std::string::npos) << e.what();
  }
  o = AcceleratedEmOptions{};
  o.step_max_growth = 1.0;
  EXPECT_THROW(FitAcceleratedEm(p.data, p.start, o), std::invalid_argument);
  o = AcceleratedEmOptions{};
  o.em.absolute_tolerance = -1.0;
  EXPECT_THROW(FitAcceleratedEm(p.data, p.start, o), std::invalid_argument);
}

TEST(EmAbsoluteToleranceTest, StopsOnTheAbsoluteChangeAndRecordsIt) {
  const Problem p = SoftmaxProblem(1000, 2, 16);
  EmOptions em;
  em.relative_tolerance = 0.0;
  em.absolute_tolerance = 1e-4;
  const FitResult fit = FitEm(p.data, p.start, em);
  ASSERT_EQ(fit.termination, TerminationType::kConverged) << fit.message;
  EXPECT_LE(fit.last_change, 1e-4);
  EXPECT_GT(fit.data_passes, fit.iterations);  // at least one pass per iteration, plus the start
  EXPECT_NE(fit.message.find("log-likelihood change"), std::string::npos) << fit.message;
}

}  // namespace
}  // namespace moelab
