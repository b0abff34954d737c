#include "moelab/rates/sample_grid.hpp"

#include <gtest/gtest.h>

#include "support/expect_invalid.hpp"

namespace moelab {
namespace {

using testing::ThrowsInvalidArgument;

TEST(LogSpacedGridTest, DecadesGiveRoundNumbers) {
  EXPECT_EQ(LogSpacedGrid(100, 100000, 4), (std::vector<Index>{100, 1000, 10000, 100000}));
  EXPECT_EQ(LogSpacedGrid(100, 10000, 5), (std::vector<Index>{100, 316, 1000, 3162, 10000}));
  EXPECT_EQ(LogSpacedGrid(50, 50, 1), (std::vector<Index>{50}));
}

TEST(LogSpacedGridTest, RoundingDuplicatesAreRemoved) {
  const auto grid = LogSpacedGrid(1, 4, 10);
  ASSERT_FALSE(grid.empty());
  EXPECT_EQ(grid.front(), 1);
  EXPECT_EQ(grid.back(), 4);
  for (std::size_t g = 1; g < grid.size(); ++g) EXPECT_GT(grid[g], grid[g - 1]);
  EXPECT_EQ(grid.size(), 4u);
}

TEST(LogSpacedGridTest, RejectsBadArguments) {
  EXPECT_TRUE(ThrowsInvalidArgument([] { LogSpacedGrid(0, 10, 3); }, {"n_min"}));
  EXPECT_TRUE(ThrowsInvalidArgument([] { LogSpacedGrid(10, 5, 3); }, {"n_max"}));
  EXPECT_TRUE(ThrowsInvalidArgument([] { LogSpacedGrid(10, 50, 0); }, {"count"}));
  EXPECT_TRUE(ThrowsInvalidArgument([] { LogSpacedGrid(10, 50, 1); }, {"count 1"}));
}

TEST(ValidateSampleGridTest, NamesTheProblem) {
  EXPECT_NO_THROW(ValidateSampleGrid({10, 20}, 9, "study"));
  EXPECT_TRUE(ThrowsInvalidArgument([] { ValidateSampleGrid({}, 9, "study"); }, {"study", "empty"}));
  EXPECT_TRUE(ThrowsInvalidArgument([] { ValidateSampleGrid({8, 20}, 9, "study"); },
                                    {"n = 8", "minimum 9"}));
  EXPECT_TRUE(ThrowsInvalidArgument([] { ValidateSampleGrid({20, 20}, 9, "study"); },
                                    {"strictly increasing"}));
}

}  // namespace
}  // namespace moelab
