// The softmax IRLS gate M-step: its gradient and information (-Hessian)
// against finite differences, its Q against the model's GateObjective, the
// frozen top-K selection, and that Newton reaches the stationary point.
#include "moelab/estimators/detail/softmax_irls.hpp"

#include <gtest/gtest.h>

#include "moelab/core/rng.hpp"
#include "moelab/model/gates/gate.hpp"
#include "moelab/model/gates/topk_gate.hpp"
#include "support/test_util.hpp"

namespace moelab::detail {
namespace {

struct Problem {
  Matrix Z;  // [1 X]
  Matrix R;  // soft labels, rows sum to 1
};

Problem MakeProblem(Index n, Index k, Index d, std::uint64_t seed) {
  Rng rng(seed);
  Problem p;
  p.Z.resize(n, d + 1);
  p.Z.col(0).setOnes();
  p.R.resize(n, k);
  for (Index r = 0; r < n; ++r) {
    for (Index c = 1; c <= d; ++c) p.Z(r, c) = UniformReal(rng, -1.0, 1.0);
    for (Index i = 0; i < k; ++i) p.R(r, i) = UniformReal(rng, 0.05, 1.0);
    p.R.row(r) /= p.R.row(r).sum();
  }
  return p;
}

Vector RandomW(Index size, std::uint64_t seed) {
  Rng rng(seed);
  Vector w(size);
  for (Index j = 0; j < size; ++j) w[j] = 0.7 * StandardNormal(rng);
  return w;
}

GateParams SoftmaxFromW(const Vector& w, Index k, Index d) {
  GateParams gate;
  gate.kind = GateKind::kSoftmax;
  gate.bias = Vector::Zero(k);
  gate.slope = Matrix::Zero(k, d);
  for (Index i = 0; i + 1 < k; ++i) {
    gate.bias[i] = w[i * (d + 1)];
    gate.slope.row(i) = w.segment(i * (d + 1) + 1, d).transpose();
  }
  return gate;
}

// n = 2500 spans three row blocks (1024 rows each), so block reduction is exercised.
TEST(SoftmaxIrlsTest, ObjectiveMatchesTheModelsGateObjective) {
  const Index k = 3, d = 2;
  const Problem p = MakeProblem(2500, k, d, 1);
  const BlockRunner runner(p.Z.rows(), 1);
  const SoftmaxIrls irls(p.Z, k, runner);
  const Vector w = RandomW((k - 1) * (d + 1), 2);
  const double q = irls.Evaluate(p.R, w, false).q;
  const double reference = GateObjective(SoftmaxFromW(w, k, d), p.Z.rightCols(d), p.R);
  EXPECT_NEAR(q, reference, 1e-11 * std::abs(reference));  // summation order only
}

TEST(SoftmaxIrlsTest, GradientAndInformationMatchFiniteDifferences) {
  const Index k = 4, d = 2;
  const Problem p = MakeProblem(2500, k, d, 3);
  const BlockRunner runner(p.Z.rows(), 1);
  const SoftmaxIrls irls(p.Z, k, runner);
  const Vector w = RandomW((k - 1) * (d + 1), 4);
  const SoftmaxIrls::Evaluation e = irls.Evaluate(p.R, w, true);
  const Vector fd_gradient = testing::CentralDifferenceGradient(
      [&](const Vector& v) { return irls.Evaluate(p.R, v, false).q; }, w);
  // Central differences with h = 1e-5: truncation ~ h^2 |Q'''| ~ 1e-10 * n,
  // cancellation ~ eps |Q| / h ~ 1e-8 for |Q| ~ 3000; 1e-5 absolute is safe
  // and far below the gradient entries (order 10-100).
  for (Index j = 0; j < w.size(); ++j) EXPECT_NEAR(e.gradient[j], fd_gradient[j], 1e-5) << j;
  // The information is -d(gradient)/dw: difference the analytic gradient.
  for (Index j = 0; j < w.size(); ++j) {
    const Vector fd_row = testing::CentralDifferenceGradient(
        [&](const Vector& v) { return irls.Evaluate(p.R, v, false).gradient[j]; }, w);
    for (Index l = 0; l < w.size(); ++l) {
      EXPECT_NEAR(e.information(j, l), -fd_row[l], 1e-5) << j << "," << l;
    }
  }
}

TEST(SoftmaxIrlsTest, FrozenSelectionRestrictsTheSoftmax) {
  // Freeze a top-2-of-3 selection; Q must equal the model's top-K gate
  // objective when the model selects the same experts, and the gradient must
  // match finite differences of the restricted Q.
  const Index k = 3, d = 1, n = 1500;
  Problem p = MakeProblem(n, k, d, 5);
  GateParams topk;
  topk.kind = GateKind::kTopK;
  topk.top_k = 2;
  topk.bias = Vector::Zero(k);
  topk.slope.resize(k, d);
  topk.slope << 2.0, 1.0, 0.0;  // x > 0 selects {0, 1}; x < 0 selects {1, 2}
  const Matrix log_g = GateLogWeights(topk, p.Z.rightCols(d));
  SelectionMask mask;
  mask.Resize(n, k);
  for (Index r = 0; r < n; ++r) {
    for (Index i = 0; i < k; ++i) {
      if (log_g(r, i) == -std::numeric_limits<double>::infinity()) {
        p.R(r, i) = 0.0;  // responsibilities vanish off the selection
      } else {
        mask.Select(r, i);
      }
    }
    p.R.row(r) /= p.R.row(r).sum();
  }
  const BlockRunner runner(n, 1);
  SoftmaxIrls irls(p.Z, k, runner);
  irls.set_mask(&mask);
  const Vector w = (Vector(2 * (d + 1)) << 0.3, 2.0, -0.2, 1.0).finished();  // slopes keep order
  topk.bias << 0.3, -0.2, 0.0;
  topk.slope << 2.0, 1.0, 0.0;
  const SoftmaxIrls::Evaluation e = irls.Evaluate(p.R, w, true);
  const double reference = GateObjective(topk, p.Z.rightCols(d), p.R);
  EXPECT_NEAR(e.q, reference, 1e-11 * std::abs(reference));
  const Vector fd = testing::CentralDifferenceGradient(
      [&](const Vector& v) { return irls.Evaluate(p.R, v, false).q; }, w);
  for (Index j = 0; j < w.size(); ++j) EXPECT_NEAR(e.gradient[j], fd[j], 1e-5) << j;
  // And against the model's frozen-selection gradient (reference block dropped).
  const Vector model_gradient = GateObjectiveGradient(topk, p.Z.rightCols(d), p.R, false);
  for (Index j = 0; j < w.size(); ++j) EXPECT_NEAR(e.gradient[j], model_gradient[j], 1e-9) << j;
}

TEST(SoftmaxIrlsTest, NewtonReachesTheStationaryPointMonotonically) {
  const Index k = 3, d = 2;
  const Problem p = MakeProblem(3000, k, d, 7);
  const BlockRunner runner(p.Z.rows(), 2);
  const SoftmaxIrls irls(p.Z, k, runner);
  Vector w = Vector::Zero((k - 1) * (d + 1));
  const double q0 = irls.Evaluate(p.R, w, false).q;
  const SoftmaxIrls::Outcome outcome = irls.Maximise(p.R, &w, nullptr, 100, 1e-14);
  EXPECT_TRUE(outcome.converged);
  EXPECT_GE(outcome.q, q0);
  // Soft labels drawn independently of x: a strictly concave problem with an
  // interior maximum, where Newton converges quadratically (few iterations).
  EXPECT_LE(outcome.iterations, 10);
  // The stopping rule bounds the remaining gain g' I^-1 g / 2 by 1e-14 |Q|
  // (|Q| ~ 3300), so |g| <= sqrt(2 gain lambda_max) ~ sqrt(7e-11 * 1e3) < 1e-3,
  // against |g| ~ 14 at w = 0. Polishing with tolerance 0 (stop only when no
  // step raises Q) must then move w by at most sqrt(2 gain / lambda_min) ~ 1e-6
  // (lambda_min of the information is ~ n/20 here).
  const Vector g = irls.Evaluate(p.R, w, false).gradient;
  EXPECT_LT(g.cwiseAbs().maxCoeff(), 1e-3);
  Vector polished = w;
  irls.Maximise(p.R, &polished, nullptr, 100, 0.0);
  EXPECT_LT((polished - w).cwiseAbs().maxCoeff(), 1e-6);
}

TEST(NewtonDirectionTest, SingularBlockGetsAZeroStep) {
  // An expert the frozen selection never picks has zero information and zero
  // gradient: the ridge keeps the step finite and leaves it at zero.
  Matrix information = Matrix::Zero(4, 4);
  information.topLeftCorner(2, 2) << 2.0, 0.5, 0.5, 1.0;
  const Vector gradient = (Vector(4) << 1.0, -1.0, 0.0, 0.0).finished();
  Vector delta;
  ASSERT_TRUE(NewtonDirection(information, gradient, &delta));
  EXPECT_TRUE(delta.allFinite());
  EXPECT_EQ(delta[2], 0.0);
  EXPECT_EQ(delta[3], 0.0);
  const Vector exact = information.topLeftCorner(2, 2).ldlt().solve(gradient.head(2));
  EXPECT_NEAR(delta[0], exact[0], 1e-6);  // ridge 1e-8 x largest pivot
  EXPECT_NEAR(delta[1], exact[1], 1e-6);
}

}  // namespace
}  // namespace moelab::detail
