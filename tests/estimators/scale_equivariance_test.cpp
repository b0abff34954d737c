// Issue 14: fits must not depend on the units of x and y. Every estimator
// fits standardised data (estimators/detail/fit_input.hpp), so fitting c y
// must give a -> c a, b -> c b, nu -> c^2 nu (gate unchanged) and
// l -> l - n log c, and fitting c x must give a -> a / c, beta1 -> beta1 / c
// with l unchanged, for c from 1e-12 to 1e12. Before the standardisation the
// absolute EM variance floor (1e-8) flattened every fit of 1e-6 y.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "moelab/estimators/em.hpp"
#include "moelab/estimators/lse_ceres.hpp"
#include "moelab/estimators/mle_nlopt.hpp"
#include "moelab/simulation/simulate.hpp"
#include "support/expect_invalid.hpp"
#include "support/random_params.hpp"

namespace moelab {
namespace {

using Fitter = std::function<FitResult(const Dataset&, const MoeParams&)>;

struct Problem {
  Dataset data;
  MoeParams start;
};

Problem MakeProblem(const GateParams& gate, std::uint64_t seed) {
  Rng rng(seed);
  MoeParams truth = testing::RandomMoe(gate, rng);
  Problem p;
  p.data = Simulate(truth, CovariateDesign{DesignKind::kUniform, gate.dim(), -2.0, 2.0}, 400, rng);
  p.data.labels.reset();
  p.start = truth;  // near-truth start, perturbed so that every estimator moves
  p.start.gate.bias[0] += 0.3;
  p.start.experts.intercept[0] += 0.2;
  p.start.experts.variance *= 1.5;
  return p;
}

// The problem in units where y is c times larger: data and start.
Problem ScaleY(const Problem& p, double c) {
  Problem scaled = p;
  scaled.data.y *= c;
  scaled.start.experts.slope *= c;
  scaled.start.experts.intercept *= c;
  scaled.start.experts.variance *= c * c;
  return scaled;
}

// The same with x c times larger.
Problem ScaleX(const Problem& p, double c) {
  Problem scaled = p;
  scaled.data.X *= c;
  scaled.start.experts.slope /= c;
  scaled.start.gate.slope /= c;
  return scaled;
}

// Relative difference of two parameter blocks, in the max norm of `b`.
double RelativeDifference(const Matrix& a, const Matrix& b) {
  if (a.size() == 0) return 0.0;
  return (a - b).lpNorm<Eigen::Infinity>() / std::max(1e-300, b.lpNorm<Eigen::Infinity>());
}

// The largest relative difference over the parameter blocks of `scaled`
// mapped back to the units of `base` (y multiplied by cy, x by cx).
double WorstDifference(const FitResult& base, const FitResult& scaled, double cy, double cx) {
  const MoeParams& s = scaled.params;
  const MoeParams& b = base.params;
  return std::max({RelativeDifference(s.experts.slope * cx / cy, b.experts.slope),
                   RelativeDifference(s.experts.intercept / cy, b.experts.intercept),
                   RelativeDifference(s.experts.variance / (cy * cy), b.experts.variance),
                   RelativeDifference(s.gate.slope * cx, b.gate.slope),
                   RelativeDifference(s.gate.bias, b.gate.bias)});
}

// Tolerances. The standardised data of c y (c x) equal those of y (x) up to
// one rounding per entry, so a fit converged to its optimum repeats itself
// up to round-off amplified by the problem's conditioning. For the gates with
// a well-determined optimum (softmax, top-K, temperature; Newton/IRLS in EM)
// parameters agree to 1e-7 and log-likelihoods to 1e-8 relative (observed:
// 1e-12 to 7e-9). The activation gates' likelihood is flat along the
// saturating slope direction (tanh/sigmoid steps), and their M-step is an
// L-BFGS run whose stopping point round-off moves along that ridge: their
// parameters are not determined by the data to better than the stopping
// rule, so only their log-likelihood is compared, to 1e-5 relative (observed:
// up to 1.3e-6 for NLopt L-BFGS, which stops round-off limited on the ridge).
// Before the standardisation every comparison at c = 1e-6 differed in the
// first digit (the absolute floor flattened the fits).
constexpr double kParameters = 1e-7;
constexpr double kLogLikelihood = 1e-8;
constexpr double kFlatLogLikelihood = 1e-5;

bool Flat(const GateParams& gate) { return gate.kind == GateKind::kActivation; }

void CheckEquivariance(const Fitter& fit, const std::string& name) {
  Rng gate_rng(11);
  for (const GateParams& gate : testing::EveryGate(2, 2, gate_rng)) {
    const Problem p = MakeProblem(gate, 7);
    const FitResult base = fit(p.data, p.start);
    ASSERT_TRUE(base.IsUsable()) << name << ": " << base.message;
    const double n = static_cast<double>(p.data.size());
    for (const double c : {1e-12, 1e-6, 1e6, 1e12}) {
      const std::string what = name + " " + testing::Describe(gate) + " c = " + std::to_string(c);
      const Problem in_y = ScaleY(p, c);
      const FitResult y_fit = fit(in_y.data, in_y.start);
      ASSERT_TRUE(y_fit.IsUsable()) << what << ": " << y_fit.message;
      const double ll_tolerance = Flat(gate) ? kFlatLogLikelihood : kLogLikelihood;
      if (!Flat(gate)) {
        EXPECT_LT(WorstDifference(base, y_fit, c, 1.0), kParameters) << what << " (y)";
      }
      const double expected = base.log_likelihood - n * std::log(c);
      EXPECT_NEAR(y_fit.log_likelihood, expected, ll_tolerance * std::abs(expected)) << what << " (y)";
      if (!Flat(gate)) {
        EXPECT_EQ(y_fit.variance_floor_hits, base.variance_floor_hits) << what;
      }

      const Problem in_x = ScaleX(p, c);
      const FitResult x_fit = fit(in_x.data, in_x.start);
      ASSERT_TRUE(x_fit.IsUsable()) << what << ": " << x_fit.message;
      if (!Flat(gate)) {
        EXPECT_LT(WorstDifference(base, x_fit, 1.0, c), kParameters) << what << " (x)";
      }
      EXPECT_NEAR(x_fit.log_likelihood, base.log_likelihood, ll_tolerance * std::abs(base.log_likelihood))
          << what << " (x)";
    }
  }
}

// Converged tightly: an optimiser stopped early along a flat direction of the
// likelihood stops wherever round-off sends its path, which would hide the
// equivariance under the noise of the stopping rule rather than test it.
TEST(ScaleEquivarianceTest, Em) {
  EmOptions options;
  options.relative_tolerance = 1e-14;
  options.max_iterations = 20000;
  options.gate_tolerance = 1e-14;
  CheckEquivariance([&](const Dataset& d, const MoeParams& s) { return FitEm(d, s, options); }, "em");
}

TEST(ScaleEquivarianceTest, MleNlopt) {
  MleNloptOptions options;
  options.max_evaluations = 20000;
  options.relative_tolerance = 1e-14;  // tightly, as for EM above (the default 1e-12
                                       // stopped the activation fits 0.009 apart on their ridge)
  CheckEquivariance([&](const Dataset& d, const MoeParams& s) { return FitMleNlopt(d, s, options); }, "mle");
}

TEST(ScaleEquivarianceTest, LseCeres) {
  LseCeresOptions options;
  options.max_iterations = 50;
  CheckEquivariance([&](const Dataset& d, const MoeParams& s) { return FitLseCeres(d, s, options); }, "lse");
}

// The floor is relative: the same fit at any scale of y hits it equally
// often and ends at variance_floor * Var(y).
TEST(ScaleEquivarianceTest, TheVarianceFloorIsRelativeToVarY) {
  Rng rng(3);
  const Problem p = MakeProblem(testing::RandomGate(GateKind::kSoftmax, 2, 1, rng), 5);
  EmOptions options;
  options.variance_floor = 0.5;  // above the experts' share of Var(y): the floor binds
  for (const double c : {1.0, 1e-6, 1e6}) {
    const Problem scaled = ScaleY(p, c);
    const FitResult fit = FitEm(scaled.data, scaled.start, options);
    const double floor = AbsoluteVarianceFloor(options.variance_floor, scaled.data.y);
    EXPECT_GT(fit.variance_floor_hits, 0) << c;
    EXPECT_NE(fit.message.find("variance-floor hits"), std::string::npos) << fit.message;
    for (Index i = 0; i < 2; ++i) EXPECT_GE(fit.params.experts.variance[i], floor * (1 - 1e-12)) << c;
  }
}

// Constant y: no maximum of the likelihood exists; every estimator refuses it.
TEST(ScaleEquivarianceTest, ConstantYIsRefusedByEveryEstimator) {
  Rng rng(2);
  Problem p = MakeProblem(testing::RandomGate(GateKind::kSoftmax, 2, 1, rng), 9);
  p.data.y.setConstant(497.48);
  EXPECT_TRUE(testing::ThrowsInvalidArgument([&] { FitEm(p.data, p.start, {}); }, {"FitEm", "y is constant"}));
  EXPECT_TRUE(testing::ThrowsInvalidArgument([&] { FitMleNlopt(p.data, p.start, {}); },
                                             {"FitMleNlopt", "y is constant"}));
  EXPECT_TRUE(testing::ThrowsInvalidArgument([&] { FitLseCeres(p.data, p.start, {}); },
                                             {"FitLseCeres", "y is constant"}));
}

TEST(ScaleEquivarianceTest, FloorOutsideZeroOneIsRefused) {
  EmOptions options;
  options.variance_floor = 1.0;
  EXPECT_TRUE(testing::ThrowsInvalidArgument([&] { options.Validate(); }, {"variance_floor", "(0, 1)"}));
}

}  // namespace
}  // namespace moelab
