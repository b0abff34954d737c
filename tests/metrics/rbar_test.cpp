#include "moelab/metrics/rbar.hpp"

#include <gtest/gtest.h>

#include "support/expect_invalid.hpp"

namespace moelab {
namespace {

using testing::ThrowsInvalidArgument;

TEST(RbarTest, KnownValuesFromDemystLemmaOne) {
  EXPECT_EQ(Rbar(2), 4.0);
  EXPECT_EQ(Rbar(3), 6.0);
  EXPECT_FALSE(LookupRbar(4).has_value());
}

TEST(RbarTest, UnknownCellSizesNeedAnOverride) {
  EXPECT_TRUE(ThrowsInvalidArgument([] { Rbar(4); }, {"4 fitted atoms", "rbar_overrides[4]"}));
  EXPECT_EQ(Rbar(4, {{4, 8.0}}), 8.0);
  EXPECT_EQ(Rbar(2, {{2, 5.0}}), 5.0);  // overrides replace known values too
  EXPECT_TRUE(ThrowsInvalidArgument([] { LookupRbar(1); }, {"2 or more"}));
}

TEST(RbarTest, OverridesAreValidated) {
  EXPECT_TRUE(ThrowsInvalidArgument([] { ValidateRbarOverrides({{1, 3.0}}, "f"); }, {"key 1"}));
  EXPECT_TRUE(ThrowsInvalidArgument([] { ValidateRbarOverrides({{5, 0.5}}, "f"); }, {"rbar(5)"}));
  EXPECT_NO_THROW(ValidateRbarOverrides({{4, 8.0}, {5, 10.0}}, "f"));
}

}  // namespace
}  // namespace moelab
