#include "moelab/core/log_sum_exp.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace moelab {
namespace {

TEST(LogSumExpTest, MatchesTheDirectFormulaOnModerateInputs) {
  const Vector v = (Vector(4) << -1.5, 0.25, 2.0, -0.5).finished();
  const double direct = std::log(v.array().exp().sum());
  // Both sides are a handful of correctly rounded operations: 1e-14 relative.
  EXPECT_NEAR(LogSumExp(v), direct, 1e-14 * std::abs(direct));
}

TEST(LogSumExpTest, DoesNotOverflowOrUnderflow) {
  const Vector v = (Vector(3) << 1000.0, 1000.0, 999.0).finished();
  const double expected = 1000.0 + std::log(2.0 + std::exp(-1.0));
  EXPECT_NEAR(LogSumExp(v), expected, 1e-12);
  const Vector w = (Vector(2) << -1000.0, -1001.0).finished();
  EXPECT_NEAR(LogSumExp(w), -1000.0 + std::log1p(std::exp(-1.0)), 1e-12);
}

TEST(LogSumExpTest, MinusInfinityEntriesAreSkippedExactly) {
  const Vector v = (Vector(3) << kNegInf, 0.75, kNegInf).finished();
  EXPECT_EQ(LogSumExp(v), 0.75);
  EXPECT_EQ(LogSumExp(Vector::Constant(3, kNegInf)), kNegInf);
}

TEST(RowLogSumExpTest, AppliesLogSumExpToEveryRow) {
  Matrix m(3, 2);
  m << 0.0, 0.0, 1.0, kNegInf, kNegInf, kNegInf;
  const Vector out = RowLogSumExp(m);
  EXPECT_DOUBLE_EQ(out[0], std::log(2.0));
  EXPECT_EQ(out[1], 1.0);
  EXPECT_EQ(out[2], kNegInf);
}

TEST(NormaliseLogRowsTest, RowsBecomeLogProbabilities) {
  Matrix m(3, 3);
  m << 1.0, 2.0, 3.0,
       500.0, kNegInf, 499.0,
       kNegInf, kNegInf, kNegInf;
  NormaliseLogRows(m);
  // Subtracting a log-sum-exp of size L loses about L * 2.2e-16 absolutely:
  // 1e-14 for the first row, 1e-12 for the row at 500.
  EXPECT_NEAR(m.row(0).array().exp().sum(), 1.0, 1e-14);
  EXPECT_NEAR(m.row(1).array().exp().sum(), 1.0, 1e-12);
  EXPECT_EQ(m(1, 1), kNegInf);
  // An all -inf row is left alone (no NaN from -inf - -inf).
  for (Index i = 0; i < 3; ++i) EXPECT_EQ(m(2, i), kNegInf);
}

TEST(ExpOfLogTest, MinusInfinityMapsToExactlyZero) {
  // Eigen's vectorised exp() returns ~5.6e-309 for -inf; ExpOfLog must not.
  Matrix m(2, 4);
  m << kNegInf, 0.0, -1.5, kNegInf,
       -800.0, kNegInf, 2.0, kNegInf;
  const Matrix e = ExpOfLog(m);
  for (Index r = 0; r < 2; ++r) {
    for (Index c = 0; c < 4; ++c) {
      if (m(r, c) == kNegInf) {
        EXPECT_EQ(e(r, c), 0.0) << r << "," << c;
      } else {
        EXPECT_EQ(e(r, c), std::exp(m(r, c)));
      }
    }
  }
}

}  // namespace
}  // namespace moelab
