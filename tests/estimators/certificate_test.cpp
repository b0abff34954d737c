// Tests of CertifyFit and FitCertified (estimators/certificate.hpp,
// certified_fit.hpp): a fit stopped early is not certified; a converged one
// is; the coincident-atom stationary point passes the score test but is
// rejected by the split-and-refit probe; variances at the floor (KKT), a
// fitted temperature (quotient) and top-K (within the selection) are handled;
// disagreeing starts are not certified.
#include "moelab/estimators/certificate.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "moelab/core/rng.hpp"
#include "moelab/estimators/accelerated_em.hpp"
#include "moelab/estimators/certified_fit.hpp"
#include "moelab/estimators/em.hpp"
#include "moelab/estimators/initialization.hpp"
#include "moelab/model/gaussian_moe.hpp"
#include "moelab/model/model_shape.hpp"
#include "moelab/simulation/presets.hpp"
#include "moelab/simulation/simulate.hpp"

namespace moelab {
namespace {

Dataset SoftmaxData(Index n, std::uint64_t seed) {
  const Preset preset = GetPreset("softmax-exact");
  Rng rng(seed);
  return Simulate(preset.truth, preset.design, n, rng);
}

ModelShape Shape(Index k) {
  ModelShape shape = ShapeOf(GetPreset("softmax-exact").truth);
  shape.num_experts = k;
  return shape;
}

AcceleratedEmOptions Converge(double tolerance = 1e-10) {
  AcceleratedEmOptions o = CertifiedFitterDefaults();
  o.em.absolute_tolerance = tolerance;
  return o;
}

ProbeRefit Refit(const Dataset& data, const AcceleratedEmOptions& o, int budget = 3000) {
  AcceleratedEmOptions short_fit = o;
  short_fit.em.max_iterations = budget;
  return [&data, short_fit](const MoeParams& start) {
    return FitAcceleratedEm(data, start, short_fit);
  };
}

FitCertificate Certify(const Dataset& data, const FitResult& fit, const AcceleratedEmOptions& o,
                       const std::vector<double>& starts = {},
                       const CertificateOptions& options = CertificateOptions{}) {
  return CertifyFit(data, fit, o.em.fit_temperature, o.em.variance_floor, starts, Refit(data, o),
                    options);
}

// The k = 2 maximum on `data` (exact-fitted: well conditioned, certified).
FitResult ExactMle(const Dataset& data) {
  Rng rng(5);
  return FitAcceleratedEm(data, InitDataDriven(data, Shape(2), rng), Converge(1e-11));
}

TEST(CertificateTest, ConvergedExactFitIsCertifiedWithAUsableNewtonDecrement) {
  const Dataset data = SoftmaxData(3000, 1);
  const FitResult fit = ExactMle(data);
  ASSERT_EQ(fit.termination, TerminationType::kConverged) << fit.message;
  const FitCertificate cert = Certify(data, fit, Converge());
  EXPECT_TRUE(cert.certified) << cert.reason;
  // Exact-fitted at n = 3000: the information is positive definite, and the
  // remaining Newton gain is far below the tolerance.
  EXPECT_TRUE(std::isfinite(cert.newton_decrement)) << cert.reason;
  EXPECT_LT(cert.newton_decrement, 1e-6);
  EXPECT_GT(cert.min_curvature, 0.0);
  EXPECT_LT(cert.score_norm, 1e-4);
  EXPECT_GT(cert.data_passes, 0);
}

TEST(CertificateTest, FitStoppedEarlyIsNotCertified) {
  const Dataset data = SoftmaxData(3000, 2);
  Rng rng(6);
  const MoeParams start = InitDataDriven(data, Shape(3), rng);
  // Budget: 5 EM iterations.
  EmOptions em;
  em.max_iterations = 5;
  em.relative_tolerance = 0.0;
  const FitResult capped = FitEm(data, start, em);
  const FitCertificate a = Certify(data, capped, Converge());
  EXPECT_FALSE(a.certified);
  EXPECT_TRUE(a.budget_hit);
  EXPECT_NE(a.reason.find("budget"), std::string::npos) << a.reason;
  // The published relative rule (1e-6 |l|, i.e. ~4e-3 here) converges by its
  // own standard but is not certified: its last change is above 1e-6.
  em = EmOptions{};
  const FitResult published = FitEm(data, start, em);
  ASSERT_EQ(published.termination, TerminationType::kConverged);
  const FitCertificate b = Certify(data, published, Converge());
  EXPECT_FALSE(b.certified) << b.reason;
  EXPECT_FALSE(b.budget_hit);
  EXPECT_NE(b.reason.find("last log-likelihood change"), std::string::npos) << b.reason;
}

// k = 3 with two identical copies of the k = 2 maximum's expert 0, the gate
// weight of that cell split evenly: stationary by symmetry (every gradient
// entry is half the k = 2 gradient, which is ~0).
MoeParams CoincidentPoint(const MoeParams& mle2) {
  MoeParams p = mle2;
  const Index d = mle2.dim();
  p.gate.bias.resize(3);
  p.gate.slope.resize(3, d);
  p.experts.slope.resize(3, d);
  p.experts.intercept.resize(3);
  p.experts.variance.resize(3);
  for (Index i : {0, 1}) {
    p.gate.bias[i] = mle2.gate.bias[0] - std::log(2.0);
    p.gate.slope.row(i) = mle2.gate.slope.row(0);
    p.experts.slope.row(i) = mle2.experts.slope.row(0);
    p.experts.intercept[i] = mle2.experts.intercept[0];
    p.experts.variance[i] = mle2.experts.variance[0];
  }
  p.gate.bias[2] = mle2.gate.bias[1];
  p.gate.slope.row(2) = mle2.gate.slope.row(1);
  p.experts.slope.row(2) = mle2.experts.slope.row(1);
  p.experts.intercept[2] = mle2.experts.intercept[1];
  p.experts.variance[2] = mle2.experts.variance[1];
  return NormaliseGauge(p);
}

TEST(CertificateTest, CoincidentAtomStationaryPointIsRejectedByTheProbe) {
  const Dataset data = SoftmaxData(4000, 3);
  const FitResult mle2 = ExactMle(data);
  ASSERT_EQ(mle2.termination, TerminationType::kConverged);
  // Present the coincident point as a converged k = 3 fit (zero last change):
  // everything but the probe sees a stationary point.
  FitResult fit = mle2;
  fit.params = CoincidentPoint(mle2.params);
  fit.log_likelihood = mle2.log_likelihood;  // the same density
  fit.last_change = 0.0;
  fit.last_parameter_change = 0.0;
  const FitCertificate cert = Certify(data, fit, Converge());
  // It passes the gradient test...
  EXPECT_LT(cert.score_norm, CertificateOptions{}.score_tolerance) << cert.reason;
  // ...and is rejected by the probe: splitting the two copies and refitting
  // gains far more than the 1e-3 tolerance (the third expert is worth whole
  // log-likelihood units on 4000 points).
  EXPECT_FALSE(cert.certified);
  EXPECT_GE(cert.probes, 1);
  EXPECT_GT(cert.probe_gain, 0.01) << cert.reason;
  EXPECT_NE(cert.reason.find("split-and-refit"), std::string::npos) << cert.reason;
  // With the probe off the same point would pass every remaining test but
  // curvature: that is what the probe is for.
  CertificateOptions no_probe;
  no_probe.probe = false;
  const FitCertificate blind = CertifyFit(data, fit, false, 1e-8, {}, {}, no_probe);
  EXPECT_EQ(blind.probes, 0);
  EXPECT_TRUE(std::isnan(blind.probe_gain));
}

TEST(CertificateTest, CertifiedProtocolEscapesTheCoincidentPoint) {
  const Dataset data = SoftmaxData(2000, 4);
  const FitResult mle2 = ExactMle(data);
  CertifiedFitOptions options;
  const CertifiedFit out = FitCertified(data, {CoincidentPoint(mle2.params)}, options);
  EXPECT_GE(out.probe_rounds, 1) << out.certificate.reason;
  EXPECT_GT(out.fit.log_likelihood, mle2.log_likelihood + 1e-3);
  EXPECT_EQ(out.fit.restarts, 1);
  EXPECT_GT(out.fit.data_passes, 0);
}

TEST(CertificateTest, DisagreeingStartsAreNotCertified) {
  const Dataset data = SoftmaxData(3000, 1);
  const FitResult fit = ExactMle(data);
  const FitCertificate agree = Certify(data, fit, Converge(), {fit.log_likelihood, fit.log_likelihood - 1e-5});
  EXPECT_TRUE(agree.certified) << agree.reason;
  EXPECT_EQ(agree.agreeing_starts, 2);
  const FitCertificate alone = Certify(data, fit, Converge(), {fit.log_likelihood, fit.log_likelihood - 5.0});
  EXPECT_FALSE(alone.certified);
  EXPECT_EQ(alone.agreeing_starts, 1);
  EXPECT_NE(alone.reason.find("starts"), std::string::npos) << alone.reason;
}

TEST(CertificateTest, TheReferenceTestReplacesAgreementByTheBasicInequality) {
  // global_test = truth: disagreeing starts do not matter, a fit below the
  // reference does. The exact-fitted MLE lies above the true parameters'
  // log-likelihood on their own data; a reference 1 unit above the fit (as if
  // the truth were better) must fail it, 1e-4 below must pass.
  const Dataset data = SoftmaxData(3000, 1);
  const FitResult fit = ExactMle(data);
  const std::vector<double> disagreeing = {fit.log_likelihood, fit.log_likelihood - 5.0};
  CertificateOptions options;
  options.global_test = GlobalTest::kDominatesReference;
  options.reference_log_likelihood = GaussianMoe(GetPreset("softmax-exact").truth).LogLikelihood(data);
  ASSERT_GT(fit.log_likelihood, options.reference_log_likelihood);
  const FitCertificate above = Certify(data, fit, Converge(), disagreeing, options);
  EXPECT_TRUE(above.certified) << above.reason;
  EXPECT_EQ(above.agreeing_starts, 1);  // counted all the same
  EXPECT_NEAR(above.reference_gap, fit.log_likelihood - options.reference_log_likelihood, 1e-12);
  options.reference_log_likelihood = fit.log_likelihood - 1e-4;
  EXPECT_TRUE(Certify(data, fit, Converge(), disagreeing, options).certified);
  options.reference_log_likelihood = fit.log_likelihood + 1.0;
  const FitCertificate below = Certify(data, fit, Converge(), disagreeing, options);
  EXPECT_FALSE(below.certified);
  EXPECT_NE(below.reason.find("below the reference"), std::string::npos) << below.reason;
  options.reference_log_likelihood = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(options.Validate(), std::invalid_argument);
  EXPECT_EQ(ParseGlobalTest("agreement"), GlobalTest::kStartAgreement);
  EXPECT_THROW(ParseGlobalTest("global"), std::invalid_argument);
}

TEST(CertificateTest, VarianceAtTheFloorIsCertifiedByTheProjectedTest) {
  const Dataset data = SoftmaxData(3000, 1);
  const FitResult free_fit = ExactMle(data);
  // A floor above expert 0's free maximum: EM pins it there, where the
  // likelihood still wants a smaller variance (the score along log nu_0 is
  // negative and large) - a KKT point, not a stationary one.
  AcceleratedEmOptions o = Converge(1e-11);
  o.em.variance_floor = 1.5 * free_fit.params.experts.variance.maxCoeff();
  const FitResult fit = FitAcceleratedEm(data, free_fit.params, o);
  ASSERT_EQ(fit.termination, TerminationType::kConverged) << fit.message;
  const FitCertificate cert = Certify(data, fit, o);
  EXPECT_EQ(cert.active_floors, 2);
  EXPECT_TRUE(cert.certified) << cert.reason;
  EXPECT_NE(cert.reason.find("floor"), std::string::npos);
  // Without the projection the same point fails: declare a floor far below.
  const FitCertificate unprojected =
      CertifyFit(data, fit, false, 1e-8, {}, Refit(data, o), CertificateOptions{});
  EXPECT_EQ(unprojected.active_floors, 0);
  EXPECT_FALSE(unprojected.certified);
  EXPECT_GT(unprojected.score_norm, 1e-3);
}

TEST(CertificateTest, FittedTemperatureIsCertifiedOnTheQuotient) {
  const Preset preset = GetPreset("temperature");
  Rng rng(8);
  const Dataset data = Simulate(preset.truth, preset.design, 3000, rng);
  const MoeParams start = InitNearTruth(preset.truth, ShapeOf(preset.truth), data.size(), rng);
  AcceleratedEmOptions o = Converge(1e-10);
  o.em.fit_temperature = true;
  const FitResult fit = FitAcceleratedEm(data, start, o);
  ASSERT_EQ(fit.termination, TerminationType::kConverged) << fit.message;
  const FitCertificate cert = Certify(data, fit, o);
  EXPECT_EQ(cert.flat_directions, 1);
  // On the quotient the information is positive definite again.
  EXPECT_TRUE(std::isfinite(cert.newton_decrement)) << cert.reason;
  EXPECT_TRUE(cert.certified) << cert.reason;
  EXPECT_NE(cert.reason.find("quotient"), std::string::npos);
  // With tau fixed there is no flat direction to remove.
  o.em.fit_temperature = false;
  const FitResult fixed = FitAcceleratedEm(data, start, o);
  EXPECT_EQ(Certify(data, fixed, o).flat_directions, 0);
}

TEST(CertificateTest, TopKIsCertifiedWithinTheSelectionPattern) {
  const Preset preset = GetPreset("topk-exact");
  Rng rng(9);
  const Dataset data = Simulate(preset.truth, preset.design, 3000, rng);
  const MoeParams start = InitNearTruth(preset.truth, ShapeOf(preset.truth), data.size(), rng);
  const AcceleratedEmOptions o = Converge(1e-10);
  const FitResult fit = FitAcceleratedEm(data, start, o);
  ASSERT_EQ(fit.termination, TerminationType::kConverged) << fit.message;
  const FitCertificate cert = Certify(data, fit, o);
  EXPECT_TRUE(cert.within_selection);
  EXPECT_NE(cert.reason.find("selection pattern"), std::string::npos) << cert.reason;
  EXPECT_TRUE(cert.certified) << cert.reason;
}

TEST(CertificateTest, BadOptionsNameTheField) {
  const Dataset data = SoftmaxData(300, 1);
  const FitResult fit = ExactMle(data);
  CertificateOptions bad;
  bad.hessian_step = 0.0;
  try {
    CertifyFit(data, fit, false, 1e-8, {}, {}, bad);
    FAIL() << "no throw";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("hessian_step"), std::string::npos);
  }
  // The probe needs a refit function.
  EXPECT_THROW(CertifyFit(data, fit, false, 1e-8, {}, {}, CertificateOptions{}),
               std::invalid_argument);
  EXPECT_THROW(FitCertified(data, {}, CertifiedFitOptions{}), std::invalid_argument);
}

}  // namespace
}  // namespace moelab
