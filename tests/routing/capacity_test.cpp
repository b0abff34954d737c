#include "moelab/routing/capacity.hpp"

#include <gtest/gtest.h>

#include <set>

#include "moelab/core/rng.hpp"
#include "support/expect_invalid.hpp"

namespace moelab {
namespace {

TEST(Capacity, FormulaIsCeilOfFactorTimesFairShare) {
  EXPECT_EQ(ExpertCapacity(1.0, 128, 2, 8), 32);
  EXPECT_EQ(ExpertCapacity(1.25, 128, 2, 8), 40);
  EXPECT_EQ(ExpertCapacity(1.0, 10, 1, 3), 4);  // ceil(3.33)
  EXPECT_EQ(ExpertCapacity(0.01, 10, 1, 3), 1); // at least one
  EXPECT_TRUE(testing::ThrowsInvalidArgument([] { ExpertCapacity(0.0, 10, 1, 3); }, {"capacity_factor"}));
}

TEST(Capacity, PositionOrderDropsLateTokensOfFullExperts) {
  // 4 tokens, E = 2, K = 1, factor 1: C = 2 per group of 4. All go to expert 0.
  RoutingResult r;
  r.num_tokens = 4;
  r.slots = 1;
  r.selected = {0, 0, 0, 0};
  r.count = {1, 1, 1, 1};
  const CapacityResult c = ApplyCapacity(r, 2, 4, 1.0);
  EXPECT_EQ(c.capacity, 2);
  EXPECT_EQ(c.kept, (std::vector<char>{1, 1, 0, 0}));
  EXPECT_EQ(c.dropped_assignments, 2);
  EXPECT_EQ(c.dropped_tokens, 2);
  EXPECT_DOUBLE_EQ(c.drop_rate(), 0.5);
  // Two groups of 2: C = 1 per group, so one kept per group.
  const CapacityResult g = ApplyCapacity(r, 2, 2, 1.0);
  EXPECT_EQ(g.kept, (std::vector<char>{1, 0, 1, 0}));
}

TEST(Capacity, AccountingConservesEveryAssignment) {
  // Random top-K routings: kept + dropped = routed, no expert above C in any
  // group, kept loads equal the kept slots, each (token, slot) counted once.
  Rng rng(21);
  for (int rep = 0; rep < 20; ++rep) {
    const Index e = 6, n = 48, group = 12;
    const int K = 2;
    Matrix scores(n, e);
    for (Index t = 0; t < n; ++t)
      for (Index j = 0; j < e; ++j) scores(t, j) = StandardNormal(rng) + (j == 0 ? 1.0 : 0.0);
    RouterOptions ro;
    ro.top_k = K;
    const RoutingResult r = Route(ro, scores, Vector::Zero(e));
    const double factor = 0.5 + 0.1 * rep;
    const CapacityResult c = ApplyCapacity(r, e, group, factor);
    EXPECT_EQ(c.assignments, n * K);
    Index kept = 0;
    for (char k : c.kept) kept += k;
    EXPECT_EQ(kept + c.dropped_assignments, c.assignments);
    EXPECT_DOUBLE_EQ(c.kept_loads.sum(), static_cast<double>(kept));
    // Recounted from the kept flags alone: per expert (kept_loads), and the
    // tokens that lost every selection (dropped_tokens), so no assignment
    // is counted under two experts and no token is lost from the count.
    Vector kept_per_expert = Vector::Zero(e);
    Index all_dropped = 0;
    for (Index t = 0; t < n; ++t) {
      int kept_slots = 0;
      for (int s = 0; s < K; ++s)
        if (c.kept[static_cast<std::size_t>(t * K + s)]) {
          kept_per_expert[r.at(t, s)] += 1;
          ++kept_slots;
        }
      all_dropped += kept_slots == 0;
    }
    EXPECT_EQ(kept_per_expert, c.kept_loads);
    EXPECT_EQ(all_dropped, c.dropped_tokens);
    for (Index begin = 0; begin < n; begin += group) {
      Vector per = Vector::Zero(e);
      for (Index t = begin; t < begin + group; ++t)
        for (int s = 0; s < K; ++s)
          if (c.kept[static_cast<std::size_t>(t * K + s)]) per[r.at(t, s)] += 1;
      EXPECT_LE(per.maxCoeff(), static_cast<double>(c.capacity));
      // Position order: an expert that dropped a token of this group is full.
      for (Index t = begin; t < begin + group; ++t)
        for (int s = 0; s < K; ++s)
          if (!c.kept[static_cast<std::size_t>(t * K + s)]) {
            EXPECT_EQ(per[r.at(t, s)], static_cast<double>(c.capacity));
          }
    }
  }
}

TEST(Capacity, ExpertChoiceGivesEveryExpertExactlyC) {
  Rng rng(22);
  const Index e = 4, n = 40, group = 20;
  Matrix scores(n, e);
  for (Index t = 0; t < n; ++t)
    for (Index j = 0; j < e; ++j) scores(t, j) = StandardNormal(rng);
  const ExpertChoiceResult ec = ExpertChoiceRoute(scores, group, 2, 1.0);
  EXPECT_EQ(ec.capacity, 10);  // 20 * 2 / 4
  for (Index j = 0; j < e; ++j) EXPECT_DOUBLE_EQ(ec.loads[j], 2.0 * 10);
  Index total = 0, unrouted = 0;
  for (Index t = 0; t < n; ++t) {
    const int c = ec.routing.count[static_cast<std::size_t>(t)];
    total += c;
    unrouted += c == 0;
    std::set<int> distinct;
    for (int s = 0; s < c; ++s) distinct.insert(ec.routing.at(t, s));
    EXPECT_EQ(static_cast<int>(distinct.size()), c);  // no expert twice for a token
  }
  EXPECT_EQ(total, 2 * e * 10);
  EXPECT_EQ(unrouted, ec.unrouted_tokens);
  // Each expert's chosen tokens are its top scores within the group.
  for (Index j = 0; j < e; ++j)
    for (Index begin = 0; begin < n; begin += group) {
      double min_in = 1e300, max_out = -1e300;
      for (Index t = begin; t < begin + group; ++t) {
        bool chosen = false;
        for (int s = 0; s < ec.routing.count[static_cast<std::size_t>(t)]; ++s) chosen |= ec.routing.at(t, s) == j;
        (chosen ? min_in : max_out) = chosen ? std::min(min_in, scores(t, j)) : std::max(max_out, scores(t, j));
      }
      EXPECT_GT(min_in, max_out);
    }
}

}  // namespace
}  // namespace moelab
