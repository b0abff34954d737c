// Deterministic properties of the Lagrangian dual (docs/theory.md §7.2-7.3, §7.10 D1–D3).
#include "moelab/routing/dual_objective.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "moelab/core/rng.hpp"
#include "moelab/routing/routers.hpp"

namespace moelab {
namespace {

Matrix RandomScores(Index n, Index e, Rng& rng) {
  Matrix s(n, e);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < e; ++j) s(i, j) = UniformReal(rng, 0.0, 1.0);
  return s;
}

Vector RandomBias(Index e, double scale, Rng& rng) {
  Vector p(e);
  for (Index j = 0; j < e; ++j) p[j] = scale * StandardNormal(rng);
  return p;
}

Vector Loads(const Matrix& s, const Vector& p, int K) {
  RouterOptions o;
  o.top_k = K;
  return CountLoads(Route(o, s, p), s.cols(), 0, s.rows());
}

TEST(DualObjective, ShiftInvariance) {
  // E L = K B, so D(p + a 1) = D(p) exactly in exact arithmetic; the
  // tolerance allows round-off of sums of B K terms of size ~|a|.
  Rng rng(1);
  for (int rep = 0; rep < 50; ++rep) {
    const Matrix s = RandomScores(32, 8, rng);
    const Vector p = RandomBias(8, 0.3, rng);
    const double a = 5.0 * StandardNormal(rng);
    EXPECT_NEAR(DualObjective(s, p.array() + a, 2), DualObjective(s, p, 2), 1e-10 * 32 * 8);
    EXPECT_EQ(Loads(s, p.array() + a, 2), Loads(s, p, 2));
  }
}

TEST(DualObjective, LoadGapIsASubgradient) {
  // Convexity: D(q) >= D(p) + (L - c(p)) . (q - p) for all q.
  Rng rng(2);
  for (int rep = 0; rep < 200; ++rep) {
    const Matrix s = RandomScores(24, 6, rng);
    const Vector p = RandomBias(6, 0.2, rng), q = RandomBias(6, 0.2, rng);
    const Vector g = DualSubgradient(s, p, 3);
    EXPECT_GE(DualObjective(s, q, 3) - DualObjective(s, p, 3) - g.dot(q - p), -1e-12);
  }
}

TEST(DualObjective, PreferenceRuleAfterOneSignStep) {
  // D3 (docs/theory.md §7.3): after p' = p + u sign(c(p) - L), a token that drops expert j
  // for j' has status(j) > status(j') (over > balanced > under), strictly:
  // scores are continuous, so ties have probability 0. Many random cases,
  // steps u from small to large.
  Rng rng(3);
  int moves = 0;
  for (int rep = 0; rep < 400; ++rep) {
    const Index e = 4 + rep % 6;
    const int K = 1 + rep % 3;
    const Index b = 40;
    const Matrix s = RandomScores(b, e, rng);
    const Vector p = RandomBias(e, 0.1, rng);
    const Vector c = Loads(s, p, K);
    const double L = static_cast<double>(K) * b / e;
    Vector sigma(e);
    for (Index j = 0; j < e; ++j) sigma[j] = (c[j] > L) - (c[j] < L);
    const double u = std::pow(10.0, -3.0 + 2.5 * UniformReal(rng, 0.0, 1.0));
    const Vector p2 = p + u * sigma;
    RouterOptions o;
    o.top_k = K;
    const RoutingResult before = Route(o, s, p), after = Route(o, s, p2);
    for (Index t = 0; t < b; ++t) {
      std::set<int> S, S2;
      for (int i = 0; i < K; ++i) S.insert(before.at(t, i)), S2.insert(after.at(t, i));
      for (int j : S) {
        if (S2.count(j)) continue;
        for (int j2 : S2) {
          if (S.count(j2)) continue;
          ++moves;
          EXPECT_GT(sigma[j], sigma[j2]) << "token moved from status " << sigma[j] << " to " << sigma[j2];
        }
      }
    }
  }
  EXPECT_GT(moves, 100);  // the property was exercised, not vacuous
}

TEST(DualObjective, MonotoneImprovementBelowTheFlipMargin) {
  // D2 (docs/theory.md §7.3): if u is below the smallest flip margin no top-K set changes,
  // and D(p') = D(p) - u ||c(p) - L||_1 exactly (up to round-off).
  Rng rng(4);
  for (int rep = 0; rep < 200; ++rep) {
    const Index e = 6, b = 30;
    const int K = 1 + rep % 3;
    const Matrix s = RandomScores(b, e, rng);
    const Vector p = RandomBias(e, 0.1, rng);
    // Margin of token t: (K-th largest) - (K+1-th largest) of s_t - p. Each
    // price moves by at most u, so gaps move by at most 2u.
    double margin = 1e300;
    for (Index t = 0; t < b; ++t) {
      Vector v = s.row(t).transpose() - p;
      std::sort(v.data(), v.data() + e, std::greater<double>());
      margin = std::min(margin, v[K - 1] - v[K]);
    }
    const double u = 0.4 * margin;
    const Vector c = Loads(s, p, K);
    const double L = static_cast<double>(K) * b / e;
    Vector sigma(e);
    for (Index j = 0; j < e; ++j) sigma[j] = (c[j] > L) - (c[j] < L);
    const Vector p2 = p + u * sigma;
    EXPECT_EQ(Loads(s, p2, K), c);
    const double drop = DualObjective(s, p, K) - DualObjective(s, p2, K);
    EXPECT_NEAR(drop, u * (c.array() - L).abs().sum(), 1e-12 * b * K + 1e-9 * drop);
  }
}

TEST(DualObjective, TopKSumAndCentring) {
  Vector v(5);
  v << 3, -1, 4, 1, 5;
  EXPECT_DOUBLE_EQ(TopKSum(v, 2), 9.0);
  EXPECT_NEAR(CentreBias(v).sum(), 0.0, 1e-14);
  EXPECT_THROW(TopKSum(v, 6), std::invalid_argument);
}

}  // namespace
}  // namespace moelab
