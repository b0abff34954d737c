#include "moelab/routing/routers.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <vector>

#include "moelab/core/rng.hpp"
#include "moelab/routing/load_metrics.hpp"
#include "support/expect_invalid.hpp"

namespace moelab {
namespace {

Matrix RandomScores(Index n, Index e, Rng& rng) {
  Matrix s(n, e);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < e; ++j) s(i, j) = StandardNormal(rng);
  return s;
}

Vector RandomBias(Index e, Rng& rng) {
  Vector p(e);
  for (Index j = 0; j < e; ++j) p[j] = 0.5 * StandardNormal(rng);
  return p;
}

std::set<int> Selected(const RoutingResult& r, Index t) {
  std::set<int> out;
  for (int i = 0; i < r.count[t]; ++i) out.insert(r.at(t, i));
  return out;
}

TEST(Routers, TopKOfShiftedScoresMaximisesThePerTokenLagrangian) {
  // Brute force over every K-subset x of E = 7 experts: the router's set
  // attains max sum_j (s_j - p_j) x_j and is the unique maximiser (continuous
  // scores: no ties with probability 1).
  Rng rng(1);
  const Index e = 7;
  for (int K = 1; K <= 4; ++K) {
    RouterOptions opt;
    opt.top_k = K;
    for (int rep = 0; rep < 50; ++rep) {
      const Matrix s = RandomScores(3, e, rng);
      const Vector p = RandomBias(e, rng);
      const RoutingResult r = Route(opt, s, p);
      for (Index t = 0; t < 3; ++t) {
        double best = -1e300;
        std::set<int> arg;
        for (int mask = 0; mask < (1 << e); ++mask) {
          if (__builtin_popcount(mask) != K) continue;
          double v = 0.0;
          std::set<int> set;
          for (int j = 0; j < e; ++j)
            if (mask >> j & 1) {
              v += s(t, j) - p[j];
              set.insert(j);
            }
          if (v > best) best = v, arg = set;
        }
        EXPECT_EQ(Selected(r, t), arg);
      }
    }
  }
}

TEST(Routers, TiesGoToTheLowerIndex) {
  RouterOptions opt;
  opt.top_k = 2;
  Matrix s = Matrix::Constant(1, 5, 1.0);
  const RoutingResult r = Route(opt, s, Vector::Zero(5));
  EXPECT_EQ(r.at(0, 0), 0);
  EXPECT_EQ(r.at(0, 1), 1);
}

TEST(Routers, BiasChangesSelectionButNotWeights) {
  // Combine weights are the unbiased scores renormalised over the selected
  // experts, whatever bias chose them (Wang et al. Eq. 3).
  Rng rng(2);
  RouterOptions opt;
  opt.top_k = 3;
  opt.compute_weights = true;
  const Matrix s = (RandomScores(20, 8, rng).array().exp()).matrix();
  const RoutingResult biased = Route(opt, s, 3.0 * RandomBias(8, rng));
  for (Index t = 0; t < 20; ++t) {
    double sum = 0.0;
    for (int i = 0; i < 3; ++i) sum += s(t, biased.at(t, i));
    for (int i = 0; i < 3; ++i) EXPECT_DOUBLE_EQ(biased.weights(t, i), s(t, biased.at(t, i)) / sum);
  }
}

TEST(Routers, GroupedTopKGivesEachGroupExactlyKOverG) {
  // MoGE (Pangu Eqs. 5–6): E = 64, K = 8, G = 8 groups -> one expert per
  // group per token, hence IS = 0 on every batch, even with a strong bias.
  Rng rng(3);
  RouterOptions opt;
  opt.kind = RouterKind::kGroupedTopK;
  opt.top_k = 8;
  opt.num_groups = 8;
  for (int rep = 0; rep < 20; ++rep) {
    const Matrix s = RandomScores(16, 64, rng);
    const RoutingResult r = Route(opt, s, RandomBias(64, rng));
    for (Index t = 0; t < 16; ++t) {
      std::vector<int> per_group(8, 0);
      for (int i = 0; i < r.count[t]; ++i) ++per_group[r.at(t, i) / 8];
      for (int g = 0; g < 8; ++g) EXPECT_EQ(per_group[g], 1);
    }
    EXPECT_EQ(ImbalanceScore(CountLoads(r, 64, 0, 16), 8, 16), 0.0);
  }
  // Ordinary top-K on the same kind of batch is almost never group-balanced
  // (Pangu: P(IS > 0) ~ 1 for N = 64, K = 8, M = 8, |X| = 16).
  RouterOptions plain;
  plain.top_k = 8;
  int positive = 0;
  for (int rep = 0; rep < 50; ++rep) {
    const RoutingResult r = Route(plain, RandomScores(16, 64, rng), Vector::Zero(64));
    positive += ImbalanceScore(CountLoads(r, 64, 0, 16), 8, 16) > 0.0;
  }
  EXPECT_GE(positive, 48);  // P(IS = 0) is ~1e-4 per batch under random routing
}

TEST(Routers, GroupLimitedTopKStaysInsideTheChosenGroups) {
  // group_topk = 2 of 4 groups: every token's experts lie in at most 2
  // groups, namely those with the largest top-(K/2) sums.
  Rng rng(4);
  RouterOptions opt;
  opt.kind = RouterKind::kGroupLimitedTopK;
  opt.top_k = 4;
  opt.num_groups = 4;
  opt.group_topk = 2;
  const Matrix s = RandomScores(200, 16, rng);
  const Vector p = RandomBias(16, rng);
  const RoutingResult r = Route(opt, s, p);
  for (Index t = 0; t < 200; ++t) {
    std::vector<std::pair<double, int>> group;
    for (int g = 0; g < 4; ++g) {
      std::vector<double> v;
      for (int j = 4 * g; j < 4 * g + 4; ++j) v.push_back(s(t, j) - p[j]);
      std::sort(v.rbegin(), v.rend());
      group.push_back({-(v[0] + v[1]), g});
    }
    std::sort(group.begin(), group.end());
    const std::set<int> kept = {group[0].second, group[1].second};
    for (int i = 0; i < 4; ++i) EXPECT_TRUE(kept.count(r.at(t, i) / 4));
    // Within the kept groups it is a plain top-K of s - p.
    std::vector<std::pair<double, int>> cand;
    for (int j = 0; j < 16; ++j)
      if (kept.count(j / 4)) cand.push_back({-(s(t, j) - p[j]), j});
    std::sort(cand.begin(), cand.end());
    std::set<int> expect;
    for (int i = 0; i < 4; ++i) expect.insert(cand[i].second);
    EXPECT_EQ(Selected(r, t), expect);
  }
}

TEST(Routers, TopPTakesTheSmallestPrefixAboveTheThreshold) {
  RouterOptions opt;
  opt.kind = RouterKind::kTopP;
  opt.top_p = 0.6;
  Matrix s(1, 4);
  s << 0.1, 0.5, 0.3, 0.1;  // sorted: 0.5, 0.3 -> mass 0.8 > 0.6 after two
  RoutingResult r = Route(opt, s, Vector::Zero(4));
  EXPECT_EQ(r.count[0], 2);
  EXPECT_EQ(Selected(r, 0), (std::set<int>{1, 2}));
  opt.max_k = 1;  // the cap binds
  r = Route(opt, s, Vector::Zero(4));
  EXPECT_EQ(r.count[0], 1);
  opt.max_k = 0;
  opt.top_p = 1.0;  // p = 1 needs every expert... until the mass exceeds 1: all four
  r = Route(opt, s, Vector::Zero(4));
  EXPECT_EQ(r.count[0], 4);
}

TEST(Routers, NullExpertsAbsorbSelectionsButNotLoad) {
  // Two null experts with overwhelming scores take both slots of every
  // token: real load 0, and combine weights of null experts are 0.
  RouterOptions opt;
  opt.top_k = 2;
  opt.num_null_experts = 2;
  opt.compute_weights = true;
  Matrix s = Matrix::Constant(5, 6, 0.1);
  s.col(4).setConstant(0.9);
  s.col(5).setConstant(0.8);
  const RoutingResult r = Route(opt, s, Vector::Zero(6));
  const Vector loads = CountLoads(r, 6, 0, 5);
  EXPECT_EQ(loads.head(4).sum(), 0.0);
  EXPECT_EQ(loads.tail(2).sum(), 10.0);
  EXPECT_EQ(r.weights.cwiseAbs().sum(), 0.0);
}

TEST(Routers, BadConfigsFailWithClearMessages) {
  using testing::ThrowsInvalidArgument;
  RouterOptions o;
  o.top_k = 9;
  EXPECT_TRUE(ThrowsInvalidArgument([&] { o.Validate(8); }, {"top_k = 9", "E = 8"}));
  o = RouterOptions{};
  o.kind = RouterKind::kGroupedTopK;
  o.top_k = 4;
  o.num_groups = 3;
  EXPECT_TRUE(ThrowsInvalidArgument([&] { o.Validate(8); }, {"num_groups = 3", "divide E = 8"}));
  o.num_groups = 4;
  o.top_k = 6;
  EXPECT_TRUE(ThrowsInvalidArgument([&] { o.Validate(8); }, {"num_groups (4)", "top_k (6)"}));
  o = RouterOptions{};
  o.kind = RouterKind::kGroupLimitedTopK;
  o.num_groups = 4;
  o.group_topk = 5;
  EXPECT_TRUE(ThrowsInvalidArgument([&] { o.Validate(8); }, {"group_topk = 5"}));
  o = RouterOptions{};
  o.kind = RouterKind::kTopP;
  for (double p : {0.0, -0.1, 1.5}) {
    o.top_p = p;
    EXPECT_TRUE(ThrowsInvalidArgument([&] { o.Validate(8); }, {"top_p", "(0, 1]"}));
  }
  o = RouterOptions{};
  o.kind = RouterKind::kTopP;
  o.num_null_experts = 1;
  EXPECT_TRUE(ThrowsInvalidArgument([&] { o.Validate(8); }, {"null experts"}));
  EXPECT_TRUE(ThrowsInvalidArgument([] { ParseRouterKind("expert-choice"); }, {"expert-choice", "topk"}));
  RouterOptions ok;
  EXPECT_TRUE(ThrowsInvalidArgument([&] { Route(ok, Matrix::Zero(2, 4), Vector::Zero(3)); }, {"bias"}));
}

TEST(TopKOfRow, MatchesAStableSortWithTiesAndSubranges) {
  // Reference: indices in [lo, hi) sorted by value descending, index
  // ascending on ties; rows with many ties (values rounded to a coarse grid)
  // exercise both the two-pass path (n >= 4K) and the single pass.
  Rng rng(31);
  for (int rep = 0; rep < 400; ++rep) {
    const int n = 1 + rep % 70, K = 1 + rep % std::min(n, 9);
    std::vector<double> v(static_cast<std::size_t>(n + 3));
    for (double& x : v) x = rep % 3 == 0 ? std::round(2 * StandardNormal(rng)) : StandardNormal(rng);
    const int lo = rep % 2, hi = lo + n;
    std::vector<int> ref(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) ref[static_cast<std::size_t>(i)] = lo + i;
    std::stable_sort(ref.begin(), ref.end(), [&](int a, int b) { return v[a] > v[b]; });
    std::vector<int> out(static_cast<std::size_t>(K), -1);
    TopKOfRow(v.data(), lo, hi, K, out.data());
    for (int i = 0; i < K; ++i) ASSERT_EQ(out[i], ref[i]) << "rep " << rep << " slot " << i;
  }
}

}  // namespace
}  // namespace moelab
