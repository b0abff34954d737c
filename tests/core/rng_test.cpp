#include "moelab/core/rng.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <stdexcept>

#include "moelab/core/log_sum_exp.hpp"
#include "support/expect_invalid.hpp"
#include "support/statistics.hpp"

namespace moelab {
namespace {

using testing::ChiSquareUpperQuantile;
using testing::PearsonChiSquare;

// Significance level of every goodness-of-fit test in this file: a correct
// generator fails a given fixed seed with probability 1e-6.
constexpr double kAlpha = 1e-6;

TEST(DeriveSeedTest, IsAPureFunctionOfItsArguments) {
  EXPECT_EQ(DeriveSeed(42, 1000, 3), DeriveSeed(42, 1000, 3));
  // Interleaving other derivations does not change the result.
  const std::uint64_t first = DeriveSeed(7, 200, 0);
  (void)DeriveSeed(7, 400, 1);
  EXPECT_EQ(DeriveSeed(7, 200, 0), first);
}

TEST(DeriveSeedTest, NeighbouringCellsGetDistinctSeeds) {
  // A rate-study grid: sample sizes 100..131 and the powers of two up to
  // 2^31 (63 distinct values; 128 is in both), 100 replications each, for
  // two neighbouring base seeds. Every seed must be distinct.
  std::set<std::uint64_t> sizes;
  for (std::uint64_t n = 100; n < 132; ++n) sizes.insert(n);
  for (int p = 0; p < 32; ++p) sizes.insert(std::uint64_t{1} << p);
  std::set<std::uint64_t> seeds;
  std::size_t cells = 0;
  for (std::uint64_t base : {0ULL, 1ULL}) {
    for (std::uint64_t n : sizes) {
      for (std::uint64_t rep = 0; rep < 100; ++rep) {
        seeds.insert(DeriveSeed(base, n, rep));
        ++cells;
      }
    }
  }
  EXPECT_EQ(seeds.size(), cells);
}

TEST(DeriveSeedTest, CoordinatesAreNotInterchangeable) {
  // (n, rep) = (3, 5) and (5, 3) are different cells.
  EXPECT_NE(DeriveSeed(1, 3, 5), DeriveSeed(1, 5, 3));
  EXPECT_NE(DeriveSeed(1, 0, 0), DeriveSeed(0, 0, 0));
}

TEST(Mix64Test, IsInjectiveOnASmallRange) {
  std::set<std::uint64_t> values;
  for (std::uint64_t x = 0; x < 10000; ++x) values.insert(Mix64(x));
  EXPECT_EQ(values.size(), 10000u);
}

TEST(RngTest, SameSeedGivesTheSameDraws) {
  Rng a(DeriveSeed(11, 500, 2)), b(DeriveSeed(11, 500, 2));
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(StandardNormal(a), StandardNormal(b));
    ASSERT_EQ(UniformReal(a, -3.0, 5.0), UniformReal(b, -3.0, 5.0));
  }
}

TEST(UniformRealTest, StaysInTheHalfOpenRange) {
  Rng rng(1);
  double lowest = 1e300, highest = -1e300;
  for (int i = 0; i < 100000; ++i) {
    const double u = UniformReal(rng, -0.5, 2.0);
    ASSERT_GE(u, -0.5);
    ASSERT_LT(u, 2.0);
    lowest = std::min(lowest, u);
    highest = std::max(highest, u);
  }
  // With 1e5 draws the extremes sit within 1e-3 of the ends except with
  // probability 2 (1 - 1e-3 / 2.5)^1e5 ~ 1e-17.
  EXPECT_LT(lowest, -0.5 + 1e-3);
  EXPECT_GT(highest, 2.0 - 1e-3);
}

TEST(StandardNormalTest, FitsTheNormalLaw) {
  // 100000 draws in 20 equiprobable bins (boundaries at Boost.Math normal
  // quantiles): the Pearson statistic is chi2(19) for a correct sampler.
  Rng rng(2024);
  Vector z(100000);
  for (Index i = 0; i < z.size(); ++i) z[i] = StandardNormal(rng);
  const int bins = 20;
  const Vector observed = testing::StandardNormalBinCounts(z, bins);
  const Vector expected = Vector::Constant(bins, double(z.size()) / bins);
  EXPECT_LT(PearsonChiSquare(observed, expected), ChiSquareUpperQuantile(bins - 1, kAlpha));
}

TEST(CategoricalFromLogTest, FrequenciesMatchTheProbabilities) {
  // Unnormalised log-probabilities (offset 7) with one impossible category.
  const Vector probs = (Vector(5) << 0.1, 0.2, 0.0, 0.3, 0.4).finished();
  Vector log_probs = probs.array().log().matrix();
  log_probs.array() += 7.0;
  ASSERT_EQ(log_probs[2], kNegInf);
  Rng rng(99);
  const int draws = 200000;
  Vector observed = Vector::Zero(5);
  for (int t = 0; t < draws; ++t) {
    const Index i = CategoricalFromLog(rng, log_probs);
    ASSERT_GE(i, 0);
    ASSERT_LT(i, 5);
    observed[i] += 1.0;
  }
  EXPECT_EQ(observed[2], 0.0) << "an expert with log-probability -inf was drawn";
  const Vector expected = draws * probs;
  // Four possible categories: chi2(3) at level 1e-6.
  EXPECT_LT(PearsonChiSquare(observed, expected), ChiSquareUpperQuantile(3, kAlpha));
}

TEST(CategoricalFromLogTest, NeverDrawsMinusInfinityEvenAtTheEnds) {
  // -inf categories at both ends of the vector (where an off-by-one in the
  // cumulative scan or its round-off fallback would land) are never drawn.
  const Vector log_probs = (Vector(4) << kNegInf, 0.0, -40.0, kNegInf).finished();
  Rng rng(5);
  for (int t = 0; t < 100000; ++t) {
    const Index i = CategoricalFromLog(rng, log_probs);
    ASSERT_TRUE(i == 1 || i == 2) << i;
  }
}

TEST(CategoricalFromLogTest, SingleFiniteEntryIsAlwaysDrawn) {
  const Vector log_probs = (Vector(3) << kNegInf, kNegInf, -1000.0).finished();
  Rng rng(3);
  for (int t = 0; t < 1000; ++t) ASSERT_EQ(CategoricalFromLog(rng, log_probs), 2);
}

TEST(CategoricalFromLogTest, NoFiniteMassThrows) {
  Rng rng(3);
  const Vector none = Vector::Constant(3, kNegInf);
  EXPECT_TRUE(testing::ThrowsInvalidArgument([&] { CategoricalFromLog(rng, none); },
                                             {"CategoricalFromLog", "no finite mass"}));
}

}  // namespace
}  // namespace moelab
