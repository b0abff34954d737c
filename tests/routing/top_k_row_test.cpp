#include "moelab/routing/top_k_row.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "moelab/core/rng.hpp"

namespace moelab {
namespace {

// The definition: indices of [lo, hi) sorted by value descending, index
// ascending on ties (a stable sort), first K.
std::vector<int> Reference(const std::vector<double>& v, int lo, int hi, int K) {
  std::vector<int> idx;
  for (int j = lo; j < hi; ++j) idx.push_back(j);
  std::stable_sort(idx.begin(), idx.end(), [&](int a, int b) { return v[a] > v[b]; });
  idx.resize(static_cast<std::size_t>(K));
  return idx;
}

// Row kinds chosen to hit every branch of the fast path (K <= 8, 4K <= n <=
// 64) and its hand-offs: continuous values (fast path decides), a coarse
// grid (ties inside and at the K-th place: hand-off), signed zeros (equal
// under ==: hand-off), infinities (legal values, no hand-off by themselves).
double Draw(int kind, Rng& rng) {
  const double z = StandardNormal(rng);
  switch (kind) {
    case 0: return z;
    case 1: return std::round(2.0 * z);
    case 2: return z > 0.5 ? 0.0 : (z < -0.5 ? -0.0 : z);
    default: {
      const double inf = std::numeric_limits<double>::infinity();
      return z > 1.5 ? inf : (z < -1.0 ? -inf : z);
    }
  }
}

TEST(TopKOfRow, EveryPathAgreesWithAStableSort) {
  Rng rng(1717);
  int compared = 0;
  for (int rep = 0; rep < 4000; ++rep) {
    const int kind = rep % 4;
    const int n = 1 + static_cast<int>(rep * 7 % 80);  // 1..80: short, fast-path and long rows
    const int K = 1 + rep % std::min(n, 10);
    const int lo = rep % 3;
    std::vector<double> v(static_cast<std::size_t>(lo + n + 2));
    for (double& x : v) x = Draw(kind, rng);
    const std::vector<int> ref = Reference(v, lo, lo + n, K);
    std::vector<int> fast(static_cast<std::size_t>(K), -7), slow(static_cast<std::size_t>(K), -7);
    TopKOfRow(v.data(), lo, lo + n, K, fast.data());
    detail::TopKOfRowInsertion(v.data(), lo, lo + n, K, slow.data());
    ASSERT_EQ(fast, ref) << "rep " << rep << " kind " << kind << " n " << n << " K " << K;
    ASSERT_EQ(slow, ref) << "rep " << rep << " kind " << kind << " n " << n << " K " << K;
    ++compared;
  }
  EXPECT_EQ(compared, 4000);
}

TEST(TopKOfRow, RowsWithNaNGiveTheInsertionPathsAnswer) {
  // No order is defined with NaN; the fast path must hand such rows over, so
  // both entry points return the same indices.
  Rng rng(99);
  for (int rep = 0; rep < 200; ++rep) {
    const int n = 32 + rep % 33, K = 1 + rep % 8;
    std::vector<double> v(static_cast<std::size_t>(n));
    for (double& x : v) x = StandardNormal(rng);
    v[static_cast<std::size_t>(rep % n)] = std::numeric_limits<double>::quiet_NaN();
    std::vector<int> fast(static_cast<std::size_t>(K)), slow(static_cast<std::size_t>(K));
    TopKOfRow(v.data(), 0, n, K, fast.data());
    detail::TopKOfRowInsertion(v.data(), 0, n, K, slow.data());
    ASSERT_EQ(fast, slow) << "rep " << rep;
  }
}

TEST(TopKOfRow, ATieAtTheKthPlaceGoesToTheLowerIndex) {
  // E = 64, K = 8: seven clear winners and three entries tied for 8th place.
  std::vector<double> v(64, 0.0);
  for (int j = 0; j < 64; ++j) v[static_cast<std::size_t>(j)] = -1.0 - 0.01 * j;
  const int winners[] = {60, 3, 17, 40, 22, 9, 55};
  for (int i = 0; i < 7; ++i) v[static_cast<std::size_t>(winners[i])] = 10.0 - i;
  for (int j : {50, 12, 31}) v[static_cast<std::size_t>(j)] = 0.5;
  std::vector<int> out(8);
  TopKOfRow(v.data(), 0, 64, 8, out.data());
  EXPECT_EQ(out, (std::vector<int>{60, 3, 17, 40, 22, 9, 55, 12}));
}

}  // namespace
}  // namespace moelab
