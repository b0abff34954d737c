#include "moelab/io/csv.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "support/expect_invalid.hpp"
#include "support/test_util.hpp"

namespace moelab {
namespace {

using testing::ThrowsInvalidArgument;

TEST(SplitCsvLineTest, SplitsAtEveryCommaAndDropsCarriageReturns) {
  EXPECT_EQ(SplitCsvLine("a,b,,c\r"), (std::vector<std::string>{"a", "b", "", "c"}));
  EXPECT_EQ(SplitCsvLine(""), (std::vector<std::string>{""}));
  EXPECT_EQ(SplitCsvLine("x,"), (std::vector<std::string>{"x", ""}));
}

TEST(ReadCsvTest, KeepsHeaderRowsAndTheirLineNumbers) {
  const std::string path = testing::MakeTempDir("moelab_readcsv_") + "/t.csv";
  testing::WriteTextFile(path, "\na,b\n1,2\n\n3,4\n");
  const CsvTable table = ReadCsv(path);
  EXPECT_EQ(table.header, (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(table.rows.size(), 2u);
  EXPECT_EQ(table.rows[1], (std::vector<std::string>{"3", "4"}));
  EXPECT_EQ(table.line_numbers, (std::vector<std::size_t>{3, 5}));
}

TEST(ParseFiniteCellTest, ParsesWholeFiniteNumbersOnly) {
  const std::vector<std::string> header = {"p", "q"};
  EXPECT_EQ(ParseFiniteCell({"  -2.5e-3 ", "0"}, 0, header, "f:7"), -2.5e-3);
  EXPECT_TRUE(ThrowsInvalidArgument([&] { ParseFiniteCell({"1", "0x10"}, 1, header, "f:7"); },
                                    {"f:7", "column 'q'", "not a number"}));
  EXPECT_TRUE(ThrowsInvalidArgument([&] { ParseFiniteCell({"1", "1 2"}, 1, header, "f:7"); },
                                    {"f:7", "column 'q'"}));
  EXPECT_TRUE(ThrowsInvalidArgument([&] { ParseFiniteCell({"inf", "1"}, 0, header, "f:8"); },
                                    {"f:8", "column 'p'", "not finite"}));
}

TEST(CsvNumber, EmptyForNanAndRoundTripsAtSeventeenDigits) {
  EXPECT_EQ(CsvNumber(std::nan("")), "");
  EXPECT_EQ(CsvNumber(0.5), "0.5");
  EXPECT_EQ(CsvNumber(1.0 / 3.0, 4), "0.3333");
  EXPECT_EQ(std::stod(CsvNumber(0.1 + 0.2, 17)), 0.1 + 0.2);
  EXPECT_EQ(CsvNumber(-std::numeric_limits<double>::infinity()), "-inf");
}

}  // namespace
}  // namespace moelab
