#include "moelab/io/named_columns_csv.hpp"

#include <gtest/gtest.h>

#include <string>

#include "support/expect_invalid.hpp"
#include "support/test_util.hpp"

namespace moelab {
namespace {

using testing::ThrowsInvalidArgument;

class NamedColumnsCsvTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::MakeTempDir("moelab_named_csv_"); }
  std::string File(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    testing::WriteTextFile(path, text);
    return path;
  }
  std::string dir_;
};

// R's write.csv: quoted header, row names in an unnamed first column, NA.
TEST_F(NamedColumnsCsvTest, ReadsRStyleFilesAndDropsMissingRows) {
  const std::string path = File("r.csv",
                                "\"\",\"dose\",\"age\",\"group\",\"resp\"\n"
                                "\"1\",0.5,31,\"a\",1.25\n"
                                "\"2\",NA,40,\"b\",2.5\n"
                                "\"3\",1.5,,\"a\",3\n"
                                "\"4\",2,52,\"b\",NA\n"
                                "\"5\",2.5,60,\"a\",4.75\n");
  NamedColumnsOptions options;
  options.y_column = "resp";
  options.x_columns = {"dose", "age"};
  const NamedColumnsData read = ReadNamedColumnsCsv(path, options);
  EXPECT_EQ(read.y_name, "resp");
  ASSERT_EQ(read.x_names.size(), 2u);
  EXPECT_EQ(read.x_names[1], "age");
  EXPECT_EQ(read.rows_read, 5u);
  ASSERT_EQ(read.dropped_lines.size(), 3u);
  EXPECT_EQ(read.dropped_lines[0], 3u);
  EXPECT_EQ(read.dropped_lines[2], 5u);
  ASSERT_EQ(read.data.size(), 2);
  EXPECT_EQ(read.line_numbers[1], 6u);
  EXPECT_DOUBLE_EQ(read.data.X(0, 0), 0.5);
  EXPECT_DOUBLE_EQ(read.data.X(1, 1), 60.0);
  EXPECT_DOUBLE_EQ(read.data.y[1], 4.75);

  options.missing = MissingValues::kError;
  EXPECT_TRUE(ThrowsInvalidArgument([&] { ReadNamedColumnsCsv(path, options); },
                                    {"r.csv:3", "column 'dose'", "missing value"}));
  // The non-numeric 'group' column is fine while unused, refused when used.
  options.missing = MissingValues::kDrop;
  options.x_columns = {"group"};
  EXPECT_TRUE(ThrowsInvalidArgument([&] { ReadNamedColumnsCsv(path, options); },
                                    {"r.csv:2", "column 'group'", "not a number"}));
}

TEST_F(NamedColumnsCsvTest, DefaultsToLastColumnAsYAndTheOthersAsX) {
  const std::string path = File("d.csv", "u,v,w\n1,2,3\n4,5,6\n");
  const NamedColumnsData read = ReadNamedColumnsCsv(path, {});
  EXPECT_EQ(read.y_name, "w");
  ASSERT_EQ(read.x_names.size(), 2u);
  EXPECT_EQ(read.x_names[0], "u");
  EXPECT_DOUBLE_EQ(read.data.y[1], 6.0);
  EXPECT_DOUBLE_EQ(read.data.X(1, 1), 5.0);
  EXPECT_TRUE(read.dropped_lines.empty());
}

TEST_F(NamedColumnsCsvTest, RefusesWhatItCannotUse) {
  const std::string path = File("e.csv", "a,b,a2\n1,2,3\n");
  NamedColumnsOptions options;
  options.y_column = "zz";
  EXPECT_TRUE(ThrowsInvalidArgument([&] { ReadNamedColumnsCsv(path, options); },
                                    {"e.csv:1", "no column 'zz'", "'a', 'b', 'a2'"}));
  options.y_column = "a";
  options.x_columns = {"a"};
  EXPECT_TRUE(ThrowsInvalidArgument([&] { ReadNamedColumnsCsv(path, options); },
                                    {"both the response and a covariate"}));
  options.x_columns = {"b", "b"};
  EXPECT_TRUE(ThrowsInvalidArgument([&] { ReadNamedColumnsCsv(path, options); }, {"twice"}));
  EXPECT_TRUE(ThrowsInvalidArgument(
      [&] { ReadNamedColumnsCsv(File("dup.csv", "a,a,y\n1,2,3\n"), {}); }, {"appears twice"}));
  EXPECT_TRUE(ThrowsInvalidArgument(
      [&] { ReadNamedColumnsCsv(File("allna.csv", "x,y\nNA,1\n2,\n"), {}); },
      {"no complete data rows", "2 read", "2 with a missing value"}));
  EXPECT_TRUE(ThrowsInvalidArgument(
      [&] { ReadNamedColumnsCsv(File("inf.csv", "x,y\n1,inf\n"), {}); }, {"inf.csv:2"}));
  EXPECT_TRUE(ThrowsInvalidArgument(
      [&] { ReadNamedColumnsCsv(File("head.csv", "x,y\n"), {}); }, {"no data rows"}));
  EXPECT_TRUE(ThrowsInvalidArgument(
      [&] { ReadNamedColumnsCsv(File("one.csv", "y\n1\n"), {}); }, {"no covariate column"}));
  EXPECT_TRUE(IsMissingCell(" NA "));
  EXPECT_TRUE(IsMissingCell("\"\""));
  EXPECT_FALSE(IsMissingCell("0"));
  EXPECT_EQ(ParseMissingValues("error"), MissingValues::kError);
  EXPECT_THROW(ParseMissingValues("omit"), std::invalid_argument);
}

TEST_F(NamedColumnsCsvTest, CovariatesForPredictionIgnoreOtherColumns) {
  const std::string path = File("new.csv", "id,x2,x1\nq,1,2\nr,NA,3\ns,4,5\n");
  const NamedColumnsData read = ReadCovariatesCsv(path, {"x1", "x2"}, MissingValues::kDrop);
  ASSERT_EQ(read.data.size(), 2);
  EXPECT_DOUBLE_EQ(read.data.X(0, 0), 2.0);
  EXPECT_DOUBLE_EQ(read.data.X(0, 1), 1.0);
  EXPECT_EQ(read.line_numbers[1], 4u);
  ASSERT_EQ(read.dropped_lines.size(), 1u);
  EXPECT_EQ(read.dropped_lines[0], 3u);
  EXPECT_TRUE(ThrowsInvalidArgument(
      [&] { ReadCovariatesCsv(path, {"x3"}, MissingValues::kDrop); }, {"no column 'x3'"}));
}

}  // namespace
}  // namespace moelab
