// Minimal strict CSV reading shared by the dataset reader and the resumable
// result files: comma-separated, no quoting, header on the first line, blank
// lines skipped. Every data row must have as many fields as the header.
#pragma once

#include <string>
#include <vector>

namespace moelab {

struct CsvTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::vector<std::size_t> line_numbers;  // 1-based line of each row
};

// Throws std::invalid_argument naming the file and line: a directory, cannot
// open, empty file, ragged row, a NUL byte (naming its column). A UTF-8
// byte-order mark before the header is dropped.
CsvTable ReadCsv(const std::string& path);

// A number as a CSV cell: %.<digits>g, and NaN as the empty cell ("not
// computed"), the convention of every moelab table.
std::string CsvNumber(double value, int digits = 10);

// Splits one line at commas (no quoting).
std::vector<std::string> SplitCsvLine(const std::string& line);

// Parses row[column] as a finite double; throws naming `where` and the
// column's header name: "not a number", "out of range" (1e400) or "not
// finite"; the cell is quoted bounded (Snippet), whatever its length.
double ParseFiniteCell(const std::vector<std::string>& row, std::size_t column,
                       const std::vector<std::string>& header, const std::string& where);

}  // namespace moelab
