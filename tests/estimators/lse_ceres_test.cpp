#include "moelab/estimators/lse_ceres.hpp"

#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include <gtest/gtest.h>

#include "moelab/core/rng.hpp"
#include "moelab/model/gaussian_moe.hpp"
#include "moelab/simulation/presets.hpp"
#include "moelab/simulation/simulate.hpp"

namespace moelab {
namespace {

// The softmax-exact mean parameters in the fitted order:
// (beta0_0, beta1_0, b_0, a_0, b_1, a_1); expert 1 is the gauge reference.
Vector MeanParameters(const MoeParams& p) {
  return (Vector(6) << p.gate.bias[0], p.gate.slope(0, 0), p.experts.intercept[0],
          p.experts.slope(0, 0), p.experts.intercept[1], p.experts.slope(1, 0))
      .finished();
}

MoeParams WithMeanParameters(MoeParams p, const Vector& theta) {
  p.gate.bias[0] = theta[0];
  p.gate.slope(0, 0) = theta[1];
  p.experts.intercept[0] = theta[2];
  p.experts.slope(0, 0) = theta[3];
  p.experts.intercept[1] = theta[4];
  p.experts.slope(1, 0) = theta[5];
  return p;
}

// Asymptotic standard errors of least squares for the mean function,
// sandwich form: Cov = (J'J)^-1 J' diag(Var(y|x_n)) J (J'J)^-1, with J the
// Jacobian of f(x_n; theta) at the truth (central differences, step 1e-6,
// accurate to ~1e-9 relative, far below what a standard error needs) and
// Var(y|x) the true conditional variance of the mixture.
Vector SandwichStandardErrors(const MoeParams& truth, const Matrix& X) {
  const Vector theta = MeanParameters(truth);
  Matrix J(X.rows(), theta.size());
  for (Index j = 0; j < theta.size(); ++j) {
    const double h = 1e-6 * std::max(1.0, std::abs(theta[j]));
    Vector up = theta, down = theta;
    up[j] += h;
    down[j] -= h;
    J.col(j) = (GaussianMoe(WithMeanParameters(truth, up)).ConditionalMean(X) -
                GaussianMoe(WithMeanParameters(truth, down)).ConditionalMean(X)) /
               (2.0 * h);
  }
  const Vector noise = GaussianMoe(truth).ConditionalVariance(X);
  const Matrix bread = (J.transpose() * J).inverse();
  const Matrix meat = J.transpose() * noise.asDiagonal() * J;
  return (bread * meat * bread).diagonal().cwiseSqrt();
}

TEST(FitLseCeresTest, RecoversTheSoftmaxExactMeanFunctionAtLargeN) {
  const Preset preset = GetPreset("softmax-exact");
  Rng rng(2024);
  const Dataset data = Simulate(preset.truth, preset.design, 50000, rng);
  MoeParams init = preset.truth;  // start off the truth in every mean parameter
  init.gate.bias[0] += 3.0;
  init.gate.slope(0, 0) -= 8.0;
  init.experts.intercept.array() += 1.0;
  init.experts.slope.array() -= 3.0;

  const FitResult fit = FitLseCeres(data, init, LseCeresOptions{});
  ASSERT_EQ(fit.termination, TerminationType::kConverged) << fit.message;
  const Vector estimate = MeanParameters(fit.params);
  const Vector truth = MeanParameters(preset.truth);
  const Vector se = SandwichStandardErrors(preset.truth, data.X);
  // Each parameter within 5 asymptotic standard errors (a two-sided normal
  // tail of 6e-7 per parameter; the seed is fixed). At n = 50000 these are
  // about 0.02 for the well-covered expert coefficients but 0.25 / 0.7 / 0.43
  // for beta0, beta1 and the reference expert's slope, which are determined
  // near the gate switch at x = 0.32 where Var(y | x) is ~13 (means 8 apart).
  // The start is further off than 5 standard errors in every coordinate, so
  // a fit that does not move fails.
  for (Index j = 0; j < truth.size(); ++j) {
    EXPECT_NEAR(estimate[j], truth[j], 5.0 * se[j]) << "parameter " << j;
    EXPECT_LT(5.0 * se[j], std::abs(MeanParameters(init)[j] - truth[j])) << "parameter " << j;
  }
  // Reference expert gauge and the documented common variance RSS / n.
  EXPECT_EQ(fit.params.gate.bias[1], 0.0);
  EXPECT_EQ(fit.params.gate.slope(1, 0), 0.0);
  const Vector residuals = data.y - GaussianMoe(fit.params).ConditionalMean(data.X);
  EXPECT_NEAR(fit.objective, residuals.squaredNorm(), 1e-9 * fit.objective);
  EXPECT_EQ(fit.params.experts.variance[0], fit.params.experts.variance[1]);
  EXPECT_NEAR(fit.params.experts.variance[0], fit.objective / data.size(),
              1e-12 * fit.objective);
  EXPECT_NEAR(fit.log_likelihood, GaussianMoe(fit.params).LogLikelihood(data),
              1e-10 * std::abs(fit.log_likelihood));
  EXPECT_NE(fit.message.find("Ceres Solver Report"), std::string::npos) << fit.message;
  EXPECT_EQ(fit.estimator, "lse-ceres");
}

TEST(FitLseCeresTest, OneExpertIsOrdinaryLeastSquares) {
  Rng rng(8);
  Dataset data;
  data.X.resize(400, 2);
  data.y.resize(400);
  for (Index r = 0; r < 400; ++r) {
    data.X(r, 0) = UniformReal(rng, -1.0, 1.0);
    data.X(r, 1) = UniformReal(rng, -1.0, 1.0);
    data.y[r] = -0.5 + 3.0 * data.X(r, 0) + 0.5 * data.X(r, 1) + 0.3 * StandardNormal(rng);
  }
  MoeParams init;
  init.gate.bias = Vector::Zero(1);
  init.gate.slope = Matrix::Zero(1, 2);
  init.experts.intercept = Vector::Zero(1);
  init.experts.slope = Matrix::Zero(1, 2);
  init.experts.variance = Vector::Ones(1);
  const FitResult fit = FitLseCeres(data, init, LseCeresOptions{});
  ASSERT_TRUE(fit.IsUsable()) << fit.message;
  Matrix Z(400, 3);
  Z.col(0).setOnes();
  Z.rightCols(2) = data.X;
  const Vector beta = Z.colPivHouseholderQr().solve(data.y);
  // Ceres stops when |d cost| / cost < 1e-12; for this quadratic cost
  // (cost = RSS/2 ~ 18, Hessian Z'Z with smallest eigenvalue ~ n/3 = 133)
  // the remaining parameter error is at most sqrt(2e-12 * 18 / 133) ~ 5e-7.
  // A wrong Jacobian or variance (RSS/(n-p)) would be off by > 1e-4.
  EXPECT_NEAR(fit.params.experts.intercept[0], beta[0], 2e-6);
  EXPECT_NEAR(fit.params.experts.slope(0, 0), beta[1], 2e-6);
  EXPECT_NEAR(fit.params.experts.slope(0, 1), beta[2], 2e-6);
  const double variance = (data.y - Z * beta).squaredNorm() / 400;
  EXPECT_NEAR(fit.params.experts.variance[0], variance, 1e-9 * variance);
}

TEST(FitLseCeresTest, CallbackStopAndIterationCapMapToTheirTerminations) {
  const Preset preset = GetPreset("softmax-exact");
  Rng rng(5);
  const Dataset data = Simulate(preset.truth, preset.design, 1000, rng);
  MoeParams init = preset.truth;
  init.gate.slope(0, 0) = 10.0;
  init.experts.intercept.array() += 1.0;

  LseCeresOptions stop;
  stop.record_history = true;
  int calls = 0;
  stop.callback = [&calls](const IterationSummary&) {
    return ++calls == 2 ? CallbackReturn::kStop : CallbackReturn::kContinue;
  };
  const FitResult stopped = FitLseCeres(data, init, stop);
  EXPECT_EQ(stopped.termination, TerminationType::kUserStopped) << stopped.message;
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(stopped.history.size(), 2u);  // iteration 0 (the start) and 1
  EXPECT_TRUE(stopped.IsUsable());

  LseCeresOptions capped;
  capped.max_iterations = 1;
  const FitResult one = FitLseCeres(data, init, capped);
  EXPECT_EQ(one.termination, TerminationType::kMaxIterations) << one.message;
  EXPECT_LE(one.iterations, 1);  // accepted steps of the one allowed iteration
  EXPECT_GE(one.evaluations, 1);

  LseCeresOptions full;
  full.record_history = true;
  const FitResult converged = FitLseCeres(data, init, full);
  ASSERT_EQ(converged.termination, TerminationType::kConverged) << converged.message;
  EXPECT_LT(converged.objective, one.objective);
  // Levenberg-Marquardt only accepts steps that lower the cost, so the
  // history's regression log-likelihood never falls.
  for (size_t t = 1; t < converged.history.size(); ++t) {
    EXPECT_GE(converged.history[t].log_likelihood, converged.history[t - 1].log_likelihood);
  }
}

TEST(FitLseCeresTest, OverflowIsReportedNotThrown) {
  const Preset preset = GetPreset("softmax-exact");
  Rng rng(5);
  Dataset data = Simulate(preset.truth, preset.design, 100, rng);
  data.y[0] = 1e200;  // finite, but its square overflows the cost
  FitResult fit;
  ASSERT_NO_THROW(fit = FitLseCeres(data, preset.truth, LseCeresOptions{}));
  EXPECT_EQ(fit.termination, TerminationType::kNumericalFailure) << fit.message;
  EXPECT_FALSE(std::isnan(fit.log_likelihood));
  EXPECT_FALSE(std::isnan(fit.objective));
}

TEST(FitLseCeresTest, BadInputThrows) {
  const Preset preset = GetPreset("softmax-exact");
  Rng rng(1);
  const Dataset data = Simulate(preset.truth, preset.design, 100, rng);
  const MoeParams& init = preset.truth;
  const LseCeresOptions ok;
  Dataset nan_y = data;
  nan_y.y[3] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(FitLseCeres(nan_y, init, ok), std::invalid_argument);
  Dataset wide = data;
  wide.X = Matrix::Zero(100, 3);
  EXPECT_THROW(FitLseCeres(wide, init, ok), std::invalid_argument);
  Dataset tiny = data;  // 6 free mean parameters (2 gate + 2 x 2 expert) > n = 5
  tiny.X.conservativeResize(5, 1);
  tiny.y.conservativeResize(5);
  EXPECT_THROW(FitLseCeres(tiny, init, ok), std::invalid_argument);
  MoeParams bad_init = init;
  bad_init.experts.intercept[0] = std::numeric_limits<double>::infinity();
  EXPECT_THROW(FitLseCeres(data, bad_init, ok), std::invalid_argument);

  auto with = [](const std::function<void(LseCeresOptions&)>& change) {
    LseCeresOptions o;
    change(o);
    return o;
  };
  EXPECT_THROW(with([](LseCeresOptions& o) { o.max_iterations = 0; }).Validate(),
               std::invalid_argument);
  EXPECT_THROW(with([](LseCeresOptions& o) { o.function_tolerance = -1e-3; }).Validate(),
               std::invalid_argument);
  EXPECT_THROW(with([](LseCeresOptions& o) {
                 o.gradient_tolerance = std::numeric_limits<double>::quiet_NaN();
               }).Validate(),
               std::invalid_argument);
  EXPECT_THROW(with([](LseCeresOptions& o) {
                 o.parameter_tolerance = std::numeric_limits<double>::infinity();
               }).Validate(),
               std::invalid_argument);
  EXPECT_THROW(FitLseCeres(data, init, with([](LseCeresOptions& o) { o.max_iterations = -1; })),
               std::invalid_argument);
  EXPECT_NO_THROW(ok.Validate());
}

}  // namespace
}  // namespace moelab
