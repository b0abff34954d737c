#include "moelab/core/dataset.hpp"

#include <gtest/gtest.h>

#include <limits>

#include "support/expect_invalid.hpp"

namespace moelab {
namespace {

using testing::ThrowsInvalidArgument;

Dataset Small() {
  Dataset data;
  data.X = Matrix::Random(4, 2);
  data.y = Vector::Random(4);
  data.labels = IntVector::Zero(4);
  return data;
}

TEST(DatasetTest, ValidDataPasses) {
  const Dataset data = Small();
  EXPECT_NO_THROW(data.Validate());
  EXPECT_EQ(data.size(), 4);
  EXPECT_EQ(data.dim(), 2);
}

TEST(DatasetTest, EmptyOrShapelessDataThrows) {
  Dataset empty;
  EXPECT_TRUE(ThrowsInvalidArgument([&] { empty.Validate(); }, {"Dataset::Validate", "n = 0"}));
  Dataset no_columns = Small();
  no_columns.X.resize(4, 0);
  EXPECT_TRUE(ThrowsInvalidArgument([&] { no_columns.Validate(); }, {"d = 0"}));
}

TEST(DatasetTest, MismatchedShapesThrowNamingTheField) {
  Dataset rows = Small();
  rows.X.conservativeResize(3, 2);
  EXPECT_TRUE(ThrowsInvalidArgument([&] { rows.Validate(); }, {"X rows"}));
  Dataset labels = Small();
  labels.labels = IntVector::Zero(5);
  EXPECT_TRUE(ThrowsInvalidArgument([&] { labels.Validate(); }, {"labels"}));
}

TEST(DatasetTest, NonFiniteValuesThrowNamingRowAndColumn) {
  Dataset x = Small();
  x.X(2, 1) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_TRUE(ThrowsInvalidArgument([&] { x.Validate(); }, {"X(2, 1)"}));
  Dataset y = Small();
  y.y[3] = std::numeric_limits<double>::infinity();
  EXPECT_TRUE(ThrowsInvalidArgument([&] { y.Validate(); }, {"y(3, 0)"}));
}

}  // namespace
}  // namespace moelab
