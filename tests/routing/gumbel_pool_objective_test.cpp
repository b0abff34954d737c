#include "moelab/routing/gumbel_pool_objective.hpp"

#include <gtest/gtest.h>

#include "moelab/core/rng.hpp"
#include "moelab/routing/dual_objective.hpp"
#include "moelab/routing/token_stream.hpp"
#include "support/test_util.hpp"

namespace moelab {
namespace {

Matrix Pool(Rng& rng) {
  Matrix mu(10, 5);
  for (Index i = 0; i < 10; ++i)
    for (Index j = 0; j < 5; ++j) mu(i, j) = StandardNormal(rng) + 0.3 * j;
  return mu;
}

TEST(GumbelPoolObjective, GradientAndHessianMatchFiniteDifferences) {
  // Central differences with h = 1e-5: truncation O(h^2) ~ 1e-10 relative
  // for this smooth F; tolerance 1e-6 relative.
  Rng rng(1);
  const GumbelPoolObjective f(Pool(rng), 0.7, 64);
  Vector p(5);
  p << 0.2, -0.1, 0.4, 0.0, -0.3;
  const Vector fd = testing::CentralDifferenceGradient([&](const Vector& q) { return f.Value(q); }, p);
  EXPECT_LT((fd - f.Gradient(p)).norm(), 1e-6 * (1.0 + fd.norm()));
  for (Index j = 0; j < 5; ++j) {
    const Vector col = testing::CentralDifferenceGradient(
        [&](const Vector& q) { return f.Gradient(q)[j]; }, p);
    EXPECT_LT((col - f.Hessian(p).row(j).transpose()).norm(), 1e-6 * (1.0 + col.norm()));
  }
}

TEST(GumbelPoolObjective, MatchesMonteCarloOfTheBatchDual) {
  // F(p) = E[D_batch(p)] for K = 1: average D over 4000 simulated batches of
  // 16 tokens (pool draw + Gumbel noise). The per-batch sd is ~ sqrt(16) * 1.3
  // (Gumbel sd 1.28 times tau = 1), so the mean has sd ~0.08; 5 sd = 0.4.
  Rng rng(2);
  const Matrix mu = Pool(rng);
  const GumbelPoolObjective f(mu, 1.0, 16);
  Vector p(5);
  p << 0.1, 0.0, -0.2, 0.3, 0.0;
  double mean = 0.0;
  const int batches = 4000;
  for (int b = 0; b < batches; ++b) {
    Matrix s(16, 5);
    for (Index t = 0; t < 16; ++t) {
      const Index m = static_cast<Index>(rng() % 10);
      for (Index j = 0; j < 5; ++j) s(t, j) = mu(m, j) + GumbelDraw(rng);
    }
    mean += DualObjective(s, p, 1) / batches;
  }
  EXPECT_NEAR(mean, f.Value(p), 0.4);
}

TEST(GumbelPoolObjective, NewtonFindsTheCentredMinimiser) {
  Rng rng(3);
  const GumbelPoolObjective f(Pool(rng), 0.5, 128);
  const Vector p = f.Minimise();
  EXPECT_NEAR(p.sum(), 0.0, 1e-12);
  EXPECT_LT(f.Gradient(p).norm(), 1e-8 * 128);
  EXPECT_GT(f.RestrictedStrongConvexity(p), 0.0);
  // Flat along 1: F(p + a 1) = F(p).
  EXPECT_NEAR(f.Value(p.array() + 3.0), f.Value(p), 1e-9 * std::abs(f.Value(p)));
}

}  // namespace
}  // namespace moelab
