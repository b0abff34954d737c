// A data set from a CSV file with named columns and missing values, as a
// user's own data usually comes (R's write.csv, pandas' to_csv): the
// response and covariates are chosen by column name, and rows with a missing
// value in a used column are dropped (counted and listed) or refused.
//
// Format: comma-separated, header on the first line, blank lines skipped,
// every row as many fields as the header (io/csv.hpp). A name or cell may be
// wrapped in one pair of double quotes (R quotes its header), which are
// removed; there is no quoting of commas. Missing values: an empty cell or
// one of "NA", "NaN", "nan", "N/A" (after trimming spaces). Any other text
// must parse fully as a finite number.
//
// Columns: `y_column` (default: the last column) and `x_columns` (default:
// every other column, in file order, except columns with an empty name, such
// as the row names R writes). Columns the fit does not use may hold
// anything. Errors (unknown or repeated column, y among the x columns, a
// non-number, no rows left) throw std::invalid_argument naming the file,
// the line and the column.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "moelab/core/dataset.hpp"

namespace moelab {

enum class MissingValues {
  kDrop,   // drop a row with a missing value in a used column ("drop")
  kError,  // refuse the file, naming the first missing cell ("error")
};

const char* ToString(MissingValues policy);
MissingValues ParseMissingValues(const std::string& name);  // "drop", "error"

// True for the cell texts read as missing ("", "NA", "NaN", "nan", "N/A",
// with surrounding spaces and one pair of double quotes removed).
bool IsMissingCell(const std::string& cell);

struct NamedColumnsOptions {
  std::string y_column;                // "" = the last column
  std::vector<std::string> x_columns;  // empty = every other named column
  MissingValues missing = MissingValues::kDrop;
};

struct NamedColumnsData {
  Dataset data;                             // the complete rows
  std::string y_name;
  std::vector<std::string> x_names;
  std::vector<std::size_t> line_numbers;    // 1-based file line of each kept row
  std::size_t rows_read = 0;                // data rows in the file
  std::vector<std::size_t> dropped_lines;   // lines dropped for a missing value
};

// Reads `path` with the options above.
NamedColumnsData ReadNamedColumnsCsv(const std::string& path, const NamedColumnsOptions& options);

// Covariates for prediction: the columns `x_names` of `path` (others
// ignored, y need not be present). Rows with a missing covariate are dropped
// (kDrop) or refused (kError); line_numbers and dropped_lines as above, and
// `data.y` is zero.
NamedColumnsData ReadCovariatesCsv(const std::string& path,
                                   const std::vector<std::string>& x_names,
                                   MissingValues missing);

}  // namespace moelab
