#include "moelab/estimators/standard_errors.hpp"

#include <gtest/gtest.h>

#include <boost/math/distributions/binomial.hpp>
#include <chrono>
#include <cmath>

#include "moelab/estimators/objective.hpp"
#include "moelab/metrics/mixing_measure.hpp"
#include "moelab/metrics/voronoi.hpp"
#include "moelab/simulation/presets.hpp"
#include "moelab/simulation/simulate.hpp"
#include "support/expect_invalid.hpp"

namespace moelab {
namespace {

using testing::ThrowsInvalidArgument;

ModelShape Softmax(Index k) {
  ModelShape shape;
  shape.num_experts = k;
  return shape;
}

Dataset SoftmaxData(Index n, std::uint64_t seed) {
  const Preset preset = GetPreset("softmax-exact");
  Rng rng(seed);
  return Simulate(preset.truth, preset.design, n, rng);
}

// One expert is linear regression: the observed information at the MLE has
// the closed form diag(Z'Z / nu, n / 2) on (b, a, log nu), so
// se(b, a) = sqrt(diag(nu (Z'Z)^-1)) and se(nu) = nu sqrt(2 / n).
TEST(StandardErrorsTest, OneExpertMatchesLinearRegression) {
  Rng rng(41);
  const Index n = 300;
  Dataset data;
  data.X.resize(n, 2);
  data.y.resize(n);
  for (Index r = 0; r < n; ++r) {
    data.X(r, 0) = UniformReal(rng, -1, 1);
    data.X(r, 1) = UniformReal(rng, 0, 3);
    data.y[r] = 0.5 - data.X(r, 0) + 2 * data.X(r, 1) + 0.7 * StandardNormal(rng);
  }
  FitOptions options;
  options.num_starts = 1;
  ModelShape shape = Softmax(1);
  shape.dim = 2;
  const MoeFit fit = FitMoe(data, shape, options);
  const StandardErrorReport report = ComputeStandardErrors(data, fit.params(), {});
  ASSERT_TRUE(report.available) << report.reason;
  ASSERT_EQ(report.parameters.size(), 4u);
  Matrix Z(n, 3);
  Z << Vector::Ones(n), data.X;
  const double nu = fit.params().experts.variance[0];
  const Matrix covariance = nu * (Z.transpose() * Z).inverse();
  EXPECT_EQ(report.parameters[0].name, "expert[0].intercept");
  EXPECT_EQ(report.parameters[2].name, "expert[0].slope[1]");
  EXPECT_EQ(report.parameters[3].name, "expert[0].variance");
  for (Index j = 0; j < 3; ++j) {
    // FD of an exact score: relative error ~h^2 = 1e-10; 1e-6 leaves room
    // for the EM estimate's own tolerance.
    EXPECT_NEAR(report.parameters[j].standard_error, std::sqrt(covariance(j, j)),
                1e-6 * std::sqrt(covariance(j, j)));
  }
  EXPECT_NEAR(report.parameters[3].standard_error, nu * std::sqrt(2.0 / n), 1e-6 * nu);
  const double z975 = 1.959963984540054;
  EXPECT_NEAR(report.parameters[1].lower,
              report.parameters[1].estimate - z975 * report.parameters[1].standard_error, 1e-12);
  EXPECT_NEAR(report.parameters[1].z,
              report.parameters[1].estimate / report.parameters[1].standard_error, 1e-12);
}

// The information from differencing the analytic score agrees with second
// differences of the log-likelihood alone (an independent route).
TEST(StandardErrorsTest, InformationMatchesSecondDifferencesOfTheLikelihood) {
  const Dataset data = SoftmaxData(500, 42);
  FitOptions options;
  options.num_starts = 2;
  const MoeFit fit = FitMoe(data, Softmax(2), options);
  const Matrix info = ObservedInformation(data, fit.params(), false);
  const MoeObjective objective(data, fit.params(), false);
  const Vector theta = objective.Pack(fit.params());
  auto f = [&](const Vector& t) { return objective.NegativeLogLikelihood(t, nullptr); };
  for (Index a = 0; a < theta.size(); ++a) {
    for (Index b = 0; b <= a; ++b) {
      const double ha = 1e-4 * std::max(1.0, std::abs(theta[a]));
      const double hb = 1e-4 * std::max(1.0, std::abs(theta[b]));
      Vector pp = theta, pm = theta, mp = theta, mm = theta;
      pp[a] += ha; pp[b] += hb;
      pm[a] += ha; pm[b] -= hb;
      mp[a] -= ha; mp[b] += hb;
      mm[a] -= ha; mm[b] -= hb;
      const double second = (f(pp) - f(pm) - f(mp) + f(mm)) / (4 * ha * hb);
      // Function-value differences lose ~|l| eps / h^2 ~ 1e3 * 1e-16 / 1e-8:
      // about 1e-5 absolute; the entries are O(1e2..1e5).
      EXPECT_NEAR(info(a, b), second, 1e-4 * std::max(1.0, std::abs(second)))
          << "entry (" << a << ", " << b << ")";
    }
  }
}

TEST(StandardErrorsTest, SaysWhyWhenThereIsNoStandardError) {
  const Preset preset = GetPreset("softmax-exact");
  const Dataset data = SoftmaxData(400, 43);
  // Over-fitted k = 3 at a point with two identical experts: the split of
  // their weight is not identified, the information is singular.
  MoeParams doubled;
  doubled.gate.bias = Vector(3);
  doubled.gate.bias << preset.truth.gate.bias[0] + std::log(0.5),
      preset.truth.gate.bias[0] + std::log(0.5), 0.0;
  doubled.gate.slope = Matrix(3, 1);
  doubled.gate.slope << preset.truth.gate.slope(0, 0), preset.truth.gate.slope(0, 0), 0.0;
  doubled.experts.intercept = Vector(3);
  doubled.experts.intercept << preset.truth.experts.intercept[0],
      preset.truth.experts.intercept[0], preset.truth.experts.intercept[1];
  doubled.experts.slope = Matrix(3, 1);
  doubled.experts.slope << preset.truth.experts.slope(0, 0), preset.truth.experts.slope(0, 0),
      preset.truth.experts.slope(1, 0);
  doubled.experts.variance = Vector(3);
  doubled.experts.variance << preset.truth.experts.variance[0],
      preset.truth.experts.variance[0], preset.truth.experts.variance[1];
  const StandardErrorReport singular = ComputeStandardErrors(data, doubled, {});
  EXPECT_FALSE(singular.available);
  EXPECT_NE(singular.reason.find("information"), std::string::npos) << singular.reason;
  for (const ParameterInference& p : singular.parameters) {
    EXPECT_FALSE(p.available);
    EXPECT_TRUE(std::isnan(p.standard_error));
    EXPECT_FALSE(p.reason.empty());
  }

  // Temperature gate with fitted tau: exact scale symmetry.
  const Preset temperature = GetPreset("temperature");
  Rng rng(44);
  const Dataset tdata = Simulate(temperature.truth, temperature.design, 400, rng);
  StandardErrorOptions options;
  options.fit_temperature = true;
  const StandardErrorReport tau = ComputeStandardErrors(tdata, temperature.truth, options);
  EXPECT_EQ(tau.parameters[2].name, "gate.tau");
  EXPECT_FALSE(tau.parameters[0].available);
  EXPECT_FALSE(tau.parameters[2].available);
  EXPECT_NE(tau.parameters[2].reason.find("singular"), std::string::npos);
  EXPECT_TRUE(tau.parameters[3].available);  // experts: conditional on the gate
  EXPECT_NE(tau.parameters[3].reason.find("conditional"), std::string::npos);

  // Top-K: selection switches.
  const Preset topk = GetPreset("topk-exact");
  const Dataset kdata = Simulate(topk.truth, topk.design, 400, rng);
  const StandardErrorReport switches = ComputeStandardErrors(kdata, topk.truth, {});
  EXPECT_FALSE(switches.parameters[0].available);
  EXPECT_NE(switches.parameters[0].reason.find("top-K"), std::string::npos);

  StandardErrorOptions bad;
  bad.level = 1.0;
  EXPECT_TRUE(ThrowsInvalidArgument([&] { bad.Validate(); }, {"level"}));
}

// Coverage of the 95 % Wald intervals on the exact-fitted softmax preset
// ([Demyst] truth, k = 2, d = 1: 8 free parameters), n = 2000, 400 data sets
// from a fixed seed. Each fit (2 starts) is aligned to the truth through the
// Voronoi cells of its atoms (metrics/voronoi.hpp) and both are in the
// reference-expert gauge; its standard errors are computed in that labelling.
// For every parameter the number of intervals covering the true value must
// have a 99.9 % Clopper-Pearson interval that contains 0.95. With 8
// parameters (dependent, but at most 8 chances) the family-wise probability
// that a correct implementation fails is <= 8 x 0.1 % ~ 1 %, while a wrong
// information (e.g. off by a factor 2 in variance: coverage 83 %) fails.
TEST(StandardErrorsTest, WaldIntervalsCoverAtTheNominalRate) {
  const auto start = std::chrono::steady_clock::now();
  const Preset preset = GetPreset("softmax-exact");
  const Vector truth = FreeParameterValues(preset.truth, false);
  const std::vector<std::string> names = FreeParameterNames(preset.truth, false);
  ASSERT_EQ(truth.size(), 8);
  const int reps = 400;
  std::vector<int> covered(8, 0);
  int misaligned = 0, unavailable = 0;
  const Matrix true_atoms = ToMixingMeasure(preset.truth).AtomCoordinates();
  for (int r = 0; r < reps; ++r) {
    Rng rng(DeriveSeed(20261203, static_cast<std::uint64_t>(r), 0));
    const Dataset data = Simulate(preset.truth, preset.design, 2000, rng);
    FitOptions options;
    options.num_starts = 2;
    options.seed = static_cast<std::uint64_t>(r);
    const MoeFit fit = FitMoe(data, Softmax(2), options);
    const VoronoiCells cells =
        AssignVoronoiCells(ToMixingMeasure(fit.params()).AtomCoordinates(), true_atoms);
    if (cells.size(0) != 1 || cells.size(1) != 1) {
      ++misaligned;  // counts as not covered for every parameter
      continue;
    }
    const MoeParams aligned = PermuteExperts(fit.params(), {cells.members[0][0], cells.members[1][0]});
    const StandardErrorReport report = ComputeStandardErrors(data, aligned, {});
    if (!report.available) ++unavailable;
    for (Index j = 0; j < 8; ++j) {
      const ParameterInference& p = report.parameters[j];
      if (p.available && p.lower <= truth[j] && truth[j] <= p.upper) ++covered[j];
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("coverage over %d data sets (%d misaligned, %d without SE), %.1f s:\n", reps,
              misaligned, unavailable, seconds);
  for (Index j = 0; j < 8; ++j) {
    const double lower =
        boost::math::binomial_distribution<>::find_lower_bound_on_p(reps, covered[j], 0.0005);
    const double upper =
        boost::math::binomial_distribution<>::find_upper_bound_on_p(reps, covered[j], 0.0005);
    std::printf("  %-22s %.4f  [%.4f, %.4f]\n", names[j].c_str(),
                static_cast<double>(covered[j]) / reps, lower, upper);
    EXPECT_LE(lower, 0.95) << names[j] << ": " << covered[j] << " / " << reps;
    EXPECT_GE(upper, 0.95) << names[j] << ": " << covered[j] << " / " << reps;
  }
}

// The parametric bootstrap agrees with the Wald standard errors on a
// regular problem (n = 1000, 100 replicates: a bootstrap SE has relative sd
// ~1 / sqrt(2 x 100) = 7 %, so a 30 % band is > 4 sd) and gives the same
// numbers for any thread count.
TEST(StandardErrorsTest, ParametricBootstrapAgreesWithWald) {
  const Dataset data = SoftmaxData(1000, 45);
  FitOptions options;
  options.num_starts = 2;
  const MoeFit fit = FitMoe(data, Softmax(2), options);
  const StandardErrorReport wald = ComputeStandardErrors(data, fit.params(), {});
  ASSERT_TRUE(wald.available);
  BootstrapOptions boot;
  boot.replicates = 100;
  boot.seed = 9;
  const StandardErrorReport one = BootstrapStandardErrors(data, fit, options, boot);
  boot.num_threads = 2;
  const StandardErrorReport two = BootstrapStandardErrors(data, fit, options, boot);
  ASSERT_TRUE(one.available) << one.reason;
  EXPECT_EQ(one.method, "parametric-bootstrap");
  for (std::size_t j = 0; j < wald.parameters.size(); ++j) {
    EXPECT_EQ(one.parameters[j].standard_error, two.parameters[j].standard_error);
    EXPECT_NEAR(one.parameters[j].standard_error / wald.parameters[j].standard_error, 1.0, 0.3)
        << wald.parameters[j].name;
    EXPECT_LT(one.parameters[j].lower, one.parameters[j].upper);
  }
}

}  // namespace
}  // namespace moelab
