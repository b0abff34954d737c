#include "moelab/core/resources.hpp"

#include <gtest/gtest.h>

#include "support/expect_invalid.hpp"

namespace moelab {
namespace {

using testing::ThrowsInvalidArgument;

TEST(ResourcesTest, ParsesByteSizesWithBinarySuffixes) {
  EXPECT_EQ(ParseByteSize("1000", "m"), 1000u);
  EXPECT_EQ(ParseByteSize("512M", "m"), 512ull << 20);
  EXPECT_EQ(ParseByteSize("1.5G", "m"), 3ull << 29);
  for (const char* bad : {"", "0", "-1G", "12X", "1GB", "1e400", "nan"})
    EXPECT_TRUE(ThrowsInvalidArgument([&] { ParseByteSize(bad, "option --max-memory"); },
                                      {"option --max-memory", "not a size"}))
        << bad;
}

TEST(ResourcesTest, MemoryBudgetRefusesWithTheFlagsToChange) {
  EXPECT_NO_THROW(CheckMemoryBudget(1e6, "1G", "the run", "--n"));
  EXPECT_TRUE(ThrowsInvalidArgument([] { CheckMemoryBudget(2e9, "1G", "simulate", "--n"); },
                                    {"simulate needs about 2 GB", "--max-memory 1G", "lower --n"}));
  // 1e12 rows cannot fit on any machine this runs on.
  EXPECT_TRUE(ThrowsInvalidArgument([] { CheckMemoryBudget(MoeFitBytes(1000000000000, 1, 2), "", "fit", "--n-max"); },
                                    {"available now", "--n-max"}));
}

TEST(ResourcesTest, MoeFitBytesGrowsWithEverySize) {
  EXPECT_GT(MoeFitBytes(2000, 1, 2), MoeFitBytes(1000, 1, 2));
  EXPECT_GT(MoeFitBytes(1000, 2, 2), MoeFitBytes(1000, 1, 2));
  EXPECT_GT(MoeFitBytes(1000, 1, 3), MoeFitBytes(1000, 1, 2));
  // At least the data set itself (X, y: 8 (d + 1) bytes per row).
  EXPECT_GT(MoeFitBytes(100000000, 4, 2), 8.0 * 5 * 1e8);
}

TEST(ResourcesTest, DiskBudgetRefusesOutputLargerThanTheFreeSpace) {
  EXPECT_GT(AvailableDiskBytes("/tmp/does/not/exist/yet"), 0u);  // nearest existing parent
  EXPECT_TRUE(ThrowsInvalidArgument([] { CheckDiskBudget(1e21, "/tmp/x", "steps.csv", "--steps"); },
                                    {"steps.csv would write", "lower --steps"}));
}

}  // namespace
}  // namespace moelab
