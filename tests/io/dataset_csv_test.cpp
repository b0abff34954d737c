#include "moelab/io/dataset_csv.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "support/expect_invalid.hpp"
#include "support/random_params.hpp"
#include "support/test_util.hpp"

namespace moelab {
namespace {

using testing::ThrowsInvalidArgument;

class DatasetCsvTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::MakeTempDir("moelab_csv_"); }

  // Writes `text` to a fresh file in the test directory; returns its path.
  std::string File(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    testing::WriteTextFile(path, text);
    return path;
  }

  std::string dir_;
};

Dataset RandomDataset(Index n, Index d, bool with_labels, Rng& rng) {
  Dataset data;
  data.X = testing::RandomCovariates(n, d, rng, -1e3, 1e3);
  data.y = testing::RandomCovariates(n, 1, rng, -1e-3, 1e-3).col(0);
  data.y[0] = 1.0 / 3.0;
  data.y[1] = -std::nextafter(1e300, 0.0);  // 17 significant digits needed
  if (with_labels) {
    IntVector labels(n);
    for (Index r = 0; r < n; ++r) labels[r] = static_cast<int>(r % 3);
    data.labels = labels;
  }
  return data;
}

TEST_F(DatasetCsvTest, RoundTripIsExactWithAndWithoutLabels) {
  Rng rng(1501);
  for (Index d : {1, 4}) {
    for (bool with_labels : {false, true}) {
      const Dataset data = RandomDataset(50, d, with_labels, rng);
      const std::string path = dir_ + "/data_" + std::to_string(d) + "_" +
                               std::to_string(with_labels) + ".csv";
      WriteDatasetCsv(data, path);
      const Dataset back = ReadDatasetCsv(path);
      EXPECT_EQ(back.X, data.X);
      EXPECT_EQ(back.y, data.y);
      ASSERT_EQ(back.labels.has_value(), with_labels);
      if (with_labels) {
        EXPECT_EQ(*back.labels, *data.labels);
      }
    }
  }
}

TEST_F(DatasetCsvTest, AcceptsBlankLinesCrlfAndPaddedNumbers) {
  const std::string path = File("ok.csv", "x1,x2,y,z\r\n\r\n 1.5 ,2,3,0\r\n-1e-3,4,5.25,2\r\n\n");
  const Dataset data = ReadDatasetCsv(path);
  ASSERT_EQ(data.size(), 2);
  EXPECT_EQ(data.X(0, 0), 1.5);
  EXPECT_EQ(data.X(1, 0), -1e-3);
  EXPECT_EQ(data.y[1], 5.25);
  EXPECT_EQ((*data.labels)[1], 2);
}

TEST_F(DatasetCsvTest, MissingFileIsNamed) {
  const std::string path = dir_ + "/absent.csv";
  EXPECT_TRUE(ThrowsInvalidArgument([&] { ReadDatasetCsv(path); }, {path, "cannot open"}));
}

TEST_F(DatasetCsvTest, EmptyFileAndHeaderOnlyAreRejected) {
  const std::string empty = File("empty.csv", "");
  EXPECT_TRUE(ThrowsInvalidArgument([&] { ReadDatasetCsv(empty); }, {empty, "empty"}));
  const std::string blank = File("blank.csv", "\n  \n");
  EXPECT_TRUE(ThrowsInvalidArgument([&] { ReadDatasetCsv(blank); }, {blank, "empty"}));
  const std::string header = File("header.csv", "x1,y\n");
  EXPECT_TRUE(ThrowsInvalidArgument([&] { ReadDatasetCsv(header); }, {header, "no data rows"}));
}

TEST_F(DatasetCsvTest, MissingColumnsAreNamedWithTheHeaderLine) {
  const std::string no_x = File("no_x.csv", "a,y\n1,2\n");
  EXPECT_TRUE(ThrowsInvalidArgument([&] { ReadDatasetCsv(no_x); }, {no_x + ":1", "'x1'"}));
  const std::string no_y = File("no_y.csv", "x1,x2,target\n1,2,3\n");
  EXPECT_TRUE(ThrowsInvalidArgument([&] { ReadDatasetCsv(no_y); }, {no_y + ":1", "'y'"}));
  const std::string extra = File("extra.csv", "x1,y,z,w\n1,2,0,4\n");
  EXPECT_TRUE(ThrowsInvalidArgument([&] { ReadDatasetCsv(extra); }, {extra + ":1", "'z'"}));
}

TEST_F(DatasetCsvTest, BadCellsAreNamedByFileLineAndColumn) {
  struct Case {
    std::string cell_row;  // third data line (file line 5)
    std::string column;
    std::string what;
  };
  const Case cases[] = {
      {"1,abc,0", "column 'y'", "not a number"},
      {"1,2x,0", "column 'y'", "not a number"},
      {",2,0", "column 'x1'", "not a number"},
      {"nan,2,0", "column 'x1'", "not finite"},
      {"1,NaN,0", "column 'y'", "not finite"},
      {"1,inf,0", "column 'y'", "not finite"},
      {"1,-inf,0", "column 'y'", "not finite"},
      {"1,1e400,0", "column 'y'", "1e400"},        // overflows double
      {"1,2,1.5", "column 'z'", "non-negative integer"},
      {"1,2,-1", "column 'z'", "non-negative integer"},
      {"1,2,3e9", "column 'z'", "non-negative integer"},  // beyond int: no wrap-around
      {"1,2,one", "column 'z'", "not a number"},
  };
  int index = 0;
  for (const Case& c : cases) {
    // Line 1 header, line 2 blank (still counted), lines 3-4 good rows.
    const std::string path = File("bad" + std::to_string(index++) + ".csv",
                                  "x1,y,z\n\n0.5,1,0\n0.25,2,1\n" + c.cell_row + "\n0,0,0\n");
    EXPECT_TRUE(ThrowsInvalidArgument([&] { ReadDatasetCsv(path); },
                                      {path + ":5", c.column, c.what}))
        << c.cell_row;
  }
}

TEST_F(DatasetCsvTest, RaggedRowsAreNamedByFileAndLine) {
  const std::string short_row = File("short.csv", "x1,x2,y\n1,2,3\n4,5\n");
  EXPECT_TRUE(ThrowsInvalidArgument([&] { ReadDatasetCsv(short_row); },
                                    {short_row + ":3", "2 fields", "header has 3"}));
  const std::string long_row = File("long.csv", "x1,y\n1,2,3\n");
  EXPECT_TRUE(ThrowsInvalidArgument([&] { ReadDatasetCsv(long_row); }, {long_row + ":2"}));
}

TEST_F(DatasetCsvTest, WriterRejectsInvalidData) {
  Dataset bad;
  bad.X = Matrix::Zero(2, 1);
  bad.y = Vector::Zero(2);
  bad.y[1] = NAN;
  EXPECT_TRUE(ThrowsInvalidArgument([&] { WriteDatasetCsv(bad, dir_ + "/never.csv"); }, {"y(1, 0)"}));
}

}  // namespace
}  // namespace moelab

namespace moelab {
namespace {

// Issue 14 reproductions: a BOM gave "missing column 'x1'", a directory "the
// file is empty", 1e400 "not a number", a NUL byte cut the message, a 2 MB
// cell was echoed whole.
TEST_F(DatasetCsvTest, ByteOrderMarkIsDropped) {
  const Dataset data = ReadDatasetCsv(File("bom.csv", "\xEF\xBB\xBFx1,y\n1,2\n3,4\n"));
  EXPECT_EQ(data.size(), 2);
  EXPECT_EQ(data.X(1, 0), 3.0);
}

TEST_F(DatasetCsvTest, ADirectoryIsReportedAsSuch) {
  EXPECT_TRUE(ThrowsInvalidArgument([&] { ReadDatasetCsv(dir_); }, {dir_, "is a directory"}));
}

TEST_F(DatasetCsvTest, OutOfRangeIsNotCalledNotANumber) {
  const std::string path = File("huge.csv", "x1,y\n1,1e400\n");
  EXPECT_TRUE(ThrowsInvalidArgument([&] { ReadDatasetCsv(path); }, {path + ":2", "out of range"}));
}

TEST_F(DatasetCsvTest, NulBytesAreReportedWithTheirColumn) {
  const std::string path = File("nul.csv", std::string("x1,y\n1,2\n1,2\0junk\n", 19));
  EXPECT_TRUE(ThrowsInvalidArgument([&] { ReadDatasetCsv(path); }, {path + ":3, column 4", "NUL byte"}));
}

TEST_F(DatasetCsvTest, LongCellsAreTruncatedInTheMessage) {
  const std::string path = File("long.csv", "x1,y\n1," + std::string(2 * 1024 * 1024, 'a') + "\n");
  try {
    ReadDatasetCsv(path);
    FAIL() << "a 2 MB non-number was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_LT(std::string(e.what()).size(), 300u);
    EXPECT_NE(std::string(e.what()).find("not a number"), std::string::npos);
  }
}

}  // namespace
}  // namespace moelab
