// Tests of the vectorised exp / log kernels: accuracy against the C library,
// special values, every tail length, in-place use - at every SIMD level this
// CPU runs (simd_level.hpp) - and the levels agreeing to a few ulps.
#include "moelab/estimators/detail/vector_math.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "moelab/core/rng.hpp"

namespace moelab::detail {
namespace {

constexpr double kEps = std::numeric_limits<double>::epsilon();
constexpr double kInf = std::numeric_limits<double>::infinity();

std::vector<double> Uniform(Index n, double lo, double hi, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<double> v(static_cast<std::size_t>(n));
  for (double& x : v) x = UniformReal(rng, lo, hi);
  return v;
}

TEST(VectorMathTest, ExpIsAccurateOverTheNormalRange) {
  for (SimdLevel level : RunningSimdLevels()) {
    SCOPED_TRACE(SimdLevelName(level));
    const std::vector<double> x = Uniform(200001, -708.0, 709.0, 1);
    std::vector<double> y(x.size());
    ExpArray(level, x.data(), y.data(), static_cast<Index>(x.size()));
    double worst = 0.0;
    for (std::size_t j = 0; j < x.size(); ++j) {
      const double e = std::exp(x[j]);
      worst = std::max(worst, std::abs(y[j] - e) / e);
    }
    // Reduction and approximation each add < 1 ulp (measured over 2e6
    // arguments: 1.41 eps at avx2, 0.96 eps at avx512); 4 eps passes that and
    // fails any wrong coefficient or table entry, which shows up at 1e-10 or
    // worse.
    EXPECT_LT(worst, 4.0 * kEps);
  }
}

TEST(VectorMathTest, LogIsAccurateOverTheNormalRange) {
  for (SimdLevel level : RunningSimdLevels()) {
    SCOPED_TRACE(SimdLevelName(level));
    const std::vector<double> e = Uniform(200001, -700.0, 700.0, 2);
    std::vector<double> x(e.size()), y(e.size());
    for (std::size_t j = 0; j < e.size(); ++j) x[j] = std::exp(e[j]);
    LogArray(level, x.data(), y.data(), static_cast<Index>(x.size()));
    double worst = 0.0;
    for (std::size_t j = 0; j < x.size(); ++j) {
      const double l = std::log(x[j]);
      const double ulp = std::abs(std::nextafter(l, kInf) - l);
      worst = std::max(worst, std::abs(y[j] - l) / ulp);
    }
    EXPECT_LE(worst, 2.0);  // fdlibm's log is < 1 ulp; glibc's too: 2 ulps apart at most
  }
}

// Each special value at every position of arrays with and without a tail
// (8 lanes: 8, 11 and 19 values), at every level: the range ends exactly
// (-708.3 is the last argument not flushed to 0, 709 the last finite one),
// both signs of zero and NaN.
TEST(VectorMathTest, SpecialValues) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  struct Case {
    double x;
    double expected;  // NaN: a NaN; otherwise exactly, or to 4 eps when finite and nonzero
  };
  const std::vector<Case> cases = {
      {-kInf, 0.0},  // unselected top-K experts get exactly 0
      {-800.0, 0.0},
      {std::nextafter(-708.3, -kInf), 0.0},  // would be subnormal: flushed
      {-708.3, std::exp(-708.3)},
      {-1e-300, 1.0},
      {-0.0, 1.0},
      {0.0, 1.0},
      {1.0, std::exp(1.0)},
      {709.0, std::exp(709.0)},
      {std::nextafter(709.0, kInf), kInf},
      {710.0, kInf},
      {kInf, kInf},
      {nan, nan},
      {-nan, nan},
  };
  for (SimdLevel level : RunningSimdLevels()) {
    SCOPED_TRACE(SimdLevelName(level));
    for (Index n : {8, 11, 19}) {
      for (Index at = 0; at < n; ++at) {
        for (const Case& c : cases) {
          std::vector<double> x(static_cast<std::size_t>(n), -0.5), y(x.size());
          x[static_cast<std::size_t>(at)] = c.x;
          ExpArray(level, x.data(), y.data(), n);
          const double got = y[static_cast<std::size_t>(at)];
          if (std::isnan(c.expected)) {
            EXPECT_TRUE(std::isnan(got)) << c.x << " at " << at << " of " << n;
          } else if (c.expected == 0.0 || c.expected == kInf || c.expected == 1.0) {
            EXPECT_EQ(got, c.expected) << c.x << " at " << at << " of " << n;
          } else {
            EXPECT_NEAR(got, c.expected, 4 * kEps * c.expected) << c.x << " at " << at;
          }
          // A neighbour in the same vector or the tail is unaffected.
          const std::size_t other = static_cast<std::size_t>(at == 0 ? n - 1 : at - 1);
          EXPECT_NEAR(y[other], std::exp(-0.5), 4 * kEps) << c.x << " at " << at << " of " << n;
        }
      }
    }

    const double subnormal = 1e-310;
    const std::vector<double> u = {1.0, 0.0, -1.0, kInf, nan, subnormal, 2.0};
    std::vector<double> v(u.size());
    LogArray(level, u.data(), v.data(), static_cast<Index>(u.size()));
    EXPECT_EQ(v[0], 0.0);
    EXPECT_EQ(v[1], -kInf);
    EXPECT_TRUE(std::isnan(v[2]));
    EXPECT_EQ(v[3], kInf);
    EXPECT_TRUE(std::isnan(v[4]));
    EXPECT_EQ(v[5], std::log(subnormal));  // the std::log fallback
    EXPECT_NEAR(v[6], std::log(2.0), kEps);
  }
}

// Every tail length up to two 8-lane vectors plus a tail, in place and out
// of place, with guard values after the array that must stay untouched (a
// masked store that writes too far).
TEST(VectorMathTest, EveryTailLengthAndInPlace) {
  constexpr double kGuard = -12345.0;
  for (SimdLevel level : RunningSimdLevels()) {
    SCOPED_TRACE(SimdLevelName(level));
    for (Index n = 0; n <= 17; ++n) {
      std::vector<double> x = Uniform(n, -5.0, 5.0, 10 + static_cast<std::uint64_t>(n));
      std::vector<double> y(x.size() + 8, kGuard);
      ExpArray(level, x.data(), y.data(), n);
      for (Index j = 0; j < n; ++j) EXPECT_NEAR(y[j], std::exp(x[j]), 4 * kEps * std::exp(x[j]));
      for (std::size_t j = x.size(); j < y.size(); ++j) EXPECT_EQ(y[j], kGuard) << n;
      std::vector<double> in_place = x;
      in_place.resize(x.size() + 8, kGuard);
      ExpArray(level, in_place.data(), in_place.data(), n);
      EXPECT_EQ(in_place, y) << n;
      LogArray(level, y.data(), y.data(), n);  // log(exp(x)) = x up to a few ulps of max(1, |x|)
      for (Index j = 0; j < n; ++j) EXPECT_NEAR(y[j], x[j], 8 * kEps * std::max(1.0, std::abs(x[j])));
      for (std::size_t j = x.size(); j < y.size(); ++j) EXPECT_EQ(y[j], kGuard) << n;
    }
  }
}

// Out of place, ExpArray's AVX2 and portable copies run the unchecked core
// over the whole array and redo it through the checked path when any
// argument was outside the range; in place they check every vector. Both
// must give the same bits, with a special value anywhere (first vector,
// middle, last full vector, tail). (The AVX-512 copy has one path for both;
// SpecialValues checks its values at every position.)
TEST(VectorMathTest, OutOfPlaceAndInPlaceAgreeBitForBitWithSpecialValues) {
  for (SimdLevel level : RunningSimdLevels()) {
    SCOPED_TRACE(SimdLevelName(level));
    const double nan = std::numeric_limits<double>::quiet_NaN();
    for (Index n : {8, 63, 64, 130}) {
      std::vector<Index> positions;
      for (Index at = 0; at < n; at += 7) positions.push_back(at);
      positions.push_back(n - 2);  // the last full vector or the tail
      positions.push_back(n - 1);
      for (Index at : positions) {
        for (double special : {-kInf, -800.0, 710.0, nan}) {
          std::vector<double> x = Uniform(n, -30.0, 0.0, 20 + static_cast<std::uint64_t>(n));
          x[static_cast<std::size_t>(at)] = special;
          std::vector<double> out(x.size()), in_place = x;
          ExpArray(level, x.data(), out.data(), n);
          ExpArray(level, in_place.data(), in_place.data(), n);
          EXPECT_EQ(std::memcmp(out.data(), in_place.data(), sizeof(double) * x.size()), 0)
              << "n = " << n << " at " << at << " special " << special;
        }
      }
    }
  }
}

TEST(VectorMathTest, LevelsAgreeToAFewUlps) {
  // Each level is within 1.5 eps (exp) / 1 ulp (log) of the true value (the
  // AVX2 copy fuses multiply-adds, the AVX-512 one has another exp, the
  // portable copy neither), so they agree with the portable copy to 3 eps /
  // 2 ulps, and exactly on the special values. A wrong coefficient, table
  // entry or reduction shows up at 1e-10 or worse.
  std::vector<double> x = Uniform(100003, -750.0, 720.0, 5);
  x[7] = -kInf;
  x[8] = kInf;
  x[9] = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> portable(x.size()), a(x.size());
  ExpArray(SimdLevel::kPortable, x.data(), portable.data(), static_cast<Index>(x.size()));
  for (SimdLevel level : RunningSimdLevels()) {
    SCOPED_TRACE(SimdLevelName(level));
    ExpArray(level, x.data(), a.data(), static_cast<Index>(x.size()));
    double worst = 0.0;
    for (std::size_t j = 0; j < x.size(); ++j) {
      if (!(portable[j] > 0.0 && portable[j] < kInf)) {
        // 0, inf and NaN exactly alike.
        EXPECT_EQ(std::memcmp(&a[j], &portable[j], sizeof(double)), 0) << x[j];
        continue;
      }
      worst = std::max(worst, std::abs(a[j] - portable[j]) / portable[j]);
    }
    EXPECT_LE(worst, 3.0 * kEps);
  }
  for (double& v : x) v = std::exp(v * 0.9);
  LogArray(SimdLevel::kPortable, x.data(), portable.data(), static_cast<Index>(x.size()));
  for (SimdLevel level : RunningSimdLevels()) {
    SCOPED_TRACE(SimdLevelName(level));
    LogArray(level, x.data(), a.data(), static_cast<Index>(x.size()));
    double worst = 0.0;
    for (std::size_t j = 0; j < x.size(); ++j) {
      if (!std::isfinite(portable[j])) {
        EXPECT_EQ(std::memcmp(&a[j], &portable[j], sizeof(double)), 0) << x[j];
        continue;
      }
      const double ulp = std::abs(std::nextafter(portable[j], kInf) - portable[j]);
      worst = std::max(worst, std::abs(a[j] - portable[j]) / ulp);
    }
    EXPECT_LE(worst, 2.0);
  }
}

}  // namespace
}  // namespace moelab::detail
