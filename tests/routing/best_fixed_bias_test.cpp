#include "moelab/routing/best_fixed_bias.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "moelab/core/rng.hpp"
#include "moelab/routing/dual_objective.hpp"
#include "moelab/routing/routers.hpp"
#include "support/expect_invalid.hpp"

namespace moelab {
namespace {

Matrix RandomScores(Index n, Index e, Rng& rng, double offset_scale) {
  Matrix s(n, e);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < e; ++j)
      s(i, j) = StandardNormal(rng) + offset_scale * (static_cast<double>(j) / (e - 1) - 0.5);
  return s;
}

// Best balanced assignment by exhaustive search (N tokens, E experts, K per
// token, C = N K / E per expert).
double BruteForce(const Matrix& s, int K) {
  const int n = static_cast<int>(s.rows()), e = static_cast<int>(s.cols());
  const int C = n * K / e;
  std::vector<int> subsets;
  for (int m = 0; m < (1 << e); ++m)
    if (__builtin_popcount(m) == K) subsets.push_back(m);
  double best = -1e300;
  std::vector<int> loads(e, 0), choice(n, 0);
  std::function<void(int, double)> rec = [&](int t, double value) {
    if (t == n) {
      best = std::max(best, value);
      return;
    }
    for (int m : subsets) {
      bool ok = true;
      double v = value;
      for (int j = 0; j < e; ++j)
        if (m >> j & 1) {
          if (loads[j] + 1 > C) ok = false;
          v += s(t, j);
        }
      if (!ok) continue;
      for (int j = 0; j < e; ++j) loads[j] += m >> j & 1;
      rec(t + 1, v);
      for (int j = 0; j < e; ++j) loads[j] -= m >> j & 1;
    }
  };
  rec(0, 0.0);
  return best;
}

TEST(BestFixedBias, MatchesExhaustiveSearchOnSmallProblems) {
  // E = 4 and (N, K) in {(8, 1), (6, 2)}: every balanced assignment enumerated.
  // The LP optimum is integral (total unimodularity) so it must equal the
  // best integer assignment; 1e-9 allows round-off only.
  Rng rng(1);
  for (int rep = 0; rep < 30; ++rep) {
    const int K = 1 + rep % 2;
    const Matrix s = RandomScores(K == 1 ? 8 : 6, 4, rng, 2.0);
    const BestFixedBiasResult r = SolveBestFixedBias(s, K);
    EXPECT_NEAR(r.primal_value, BruteForce(s, K), 1e-9);
    EXPECT_NEAR(r.dual_value, r.primal_value, 1e-9);
  }
}

TEST(BestFixedBias, CertifiesOptimalityOnLargerProblems) {
  // Strong duality: D(p*) equals the primal value (gap ~ round-off), the
  // optimal loads are all C, top-K routing at p* gives loads C up to ties,
  // and p* beats random perturbations of itself (it is the minimiser).
  Rng rng(2);
  for (auto [n, e, K] : {std::tuple<Index, Index, int>{400, 8, 2}, {640, 16, 3}, {512, 64, 8}}) {
    const Matrix s = RandomScores(n, e, rng, 3.0);
    const BestFixedBiasResult r = SolveBestFixedBias(s, K);
    const double C = static_cast<double>(n * K / e);
    EXPECT_LT(std::abs(r.gap), 1e-9 * std::abs(r.primal_value) + 1e-9) << n << " " << e;
    EXPECT_EQ(r.loads, Vector::Constant(e, C));
    EXPECT_NEAR(r.bias.mean(), 0.0, 1e-12);
    RouterOptions o;
    o.top_k = K;
    // Continuous scores: at p* a few tokens sit exactly on a tie (that is
    // what pins the prices), so top-K loads may differ from C by the number
    // of tied tokens, at most E - 1 (one tie per price degree of freedom).
    const Vector loads = CountLoads(Route(o, s, r.bias), e, 0, n);
    EXPECT_LE((loads.array() - C).abs().sum(), 2.0 * (e - 1));
    for (int rep = 0; rep < 20; ++rep) {
      Vector q = r.bias;
      for (Index j = 0; j < e; ++j) q[j] += 0.05 * StandardNormal(rng);
      EXPECT_GE(DualObjective(s, q, K), r.dual_value - 1e-9);
    }
  }
}

TEST(BestFixedBias, RejectsBadInput) {
  using testing::ThrowsInvalidArgument;
  EXPECT_TRUE(ThrowsInvalidArgument([] { SolveBestFixedBias(Matrix::Zero(5, 4), 2); }, {"multiple of E"}));
  EXPECT_TRUE(ThrowsInvalidArgument([] { SolveBestFixedBias(Matrix::Zero(4, 4), 4); }, {"K = 4"}));
}

}  // namespace
}  // namespace moelab
