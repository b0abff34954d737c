#include "moelab/core/check.hpp"

#include <gtest/gtest.h>

#include <limits>

#include "support/expect_invalid.hpp"

namespace moelab {
namespace {

using testing::ThrowsInvalidArgument;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

TEST(CheckTest, ThrowInvalidPrefixesTheFunction) {
  EXPECT_TRUE(ThrowsInvalidArgument([] { ThrowInvalid("Fit", "bad thing"); }, {"Fit: bad thing"}));
}

TEST(CheckTest, CheckFiniteNamesFunctionAndArgument) {
  EXPECT_NO_THROW(CheckFinite("F", "tau", -3.0));
  EXPECT_TRUE(ThrowsInvalidArgument([] { CheckFinite("F", "tau", kNaN); }, {"F", "tau", "finite"}));
  EXPECT_TRUE(ThrowsInvalidArgument([] { CheckFinite("F", "tau", -kInf); }, {"F", "tau"}));
}

TEST(CheckTest, CheckPositiveRejectsZeroNegativeAndNonFinite) {
  EXPECT_NO_THROW(CheckPositive("G", "variance", 1e-300));
  for (double bad : {0.0, -1.0, kNaN, kInf}) {
    EXPECT_TRUE(ThrowsInvalidArgument([&] { CheckPositive("G", "variance", bad); },
                                      {"G", "variance", "> 0"}))
        << bad;
  }
}

TEST(CheckTest, CheckNonNegativeAcceptsZero) {
  EXPECT_NO_THROW(CheckNonNegative("H", "weight", 0.0));
  for (double bad : {-1e-300, kNaN, kInf}) {
    EXPECT_TRUE(ThrowsInvalidArgument([&] { CheckNonNegative("H", "weight", bad); },
                                      {"H", "weight", ">= 0"}))
        << bad;
  }
}

TEST(CheckTest, CheckAllFiniteNamesTheFirstBadEntry) {
  Matrix m = Matrix::Zero(3, 2);
  EXPECT_NO_THROW(CheckAllFinite("K", "X", m));
  m(2, 1) = kNaN;
  m(1, 1) = kInf;  // Column-major scan: (1, 1) is found before (2, 1).
  EXPECT_TRUE(ThrowsInvalidArgument([&] { CheckAllFinite("K", "X", m); }, {"K", "X(1, 1)"}));
}

TEST(CheckTest, CheckSizeReportsActualAndExpected) {
  EXPECT_NO_THROW(CheckSize("L", "y length", 4, 4));
  EXPECT_TRUE(ThrowsInvalidArgument([] { CheckSize("L", "y length", 3, 4); },
                                    {"L", "y length", "3", "4"}));
}

}  // namespace
}  // namespace moelab
