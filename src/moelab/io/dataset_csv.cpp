#include "moelab/io/dataset_csv.hpp"

#include <charconv>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <limits>
#include <stdexcept>
#include <vector>

#include "moelab/io/csv.hpp"
#include "moelab/io/text_snippet.hpp"

namespace moelab {

void WriteDatasetCsv(const Dataset& data, const std::string& path) {
  data.Validate();
  std::ofstream out(path);
  if (!out) throw std::runtime_error("cannot open '" + path + "' for writing");
  out << std::setprecision(17);
  for (Index c = 0; c < data.dim(); ++c) out << "x" << (c + 1) << ",";
  out << "y" << (data.labels ? ",z" : "") << "\n";
  for (Index r = 0; r < data.size(); ++r) {
    for (Index c = 0; c < data.dim(); ++c) out << data.X(r, c) << ",";
    out << data.y[r];
    if (data.labels) out << "," << (*data.labels)[r];
    out << "\n";
  }
  if (!out) throw std::runtime_error("failed writing '" + path + "'");
}

Dataset ReadDatasetCsv(const std::string& path) {
  const CsvTable table = ReadCsv(path);
  const auto where = [&](std::size_t line) { return path + ":" + std::to_string(line); };
  // Header: x1..xd, y, [z]
  // Column names built by append: GCC 12 gives a false -Wrestrict on
  // "x" + std::to_string(...) (GCC bug 105329).
  const auto x_name = [](Index j) {
    std::string name = "x";
    name += std::to_string(j + 1);
    return name;
  };
  Index d = 0;
  while (d < static_cast<Index>(table.header.size()) && table.header[d] == x_name(d)) {
    ++d;
  }
  if (d == 0)
    throw std::invalid_argument(where(1) + ": missing column 'x1' in the header (found " +
                                Snippet(table.header.empty() ? "" : table.header[0]) + ")");
  if (static_cast<Index>(table.header.size()) <= d || table.header[d] != "y") {
    throw std::invalid_argument(where(1) + ": missing column 'y' after x1..x" + std::to_string(d));
  }
  const bool has_labels = static_cast<Index>(table.header.size()) > d + 1;
  if (has_labels && (table.header[d + 1] != "z" || static_cast<Index>(table.header.size()) > d + 2)) {
    throw std::invalid_argument(where(1) + ": unexpected columns after 'y' (only 'z' is allowed)");
  }
  const Index n = static_cast<Index>(table.rows.size());
  if (n == 0) throw std::invalid_argument(path + ": the file has a header but no data rows");
  Dataset data;
  data.X.resize(n, d);
  data.y.resize(n);
  IntVector labels(has_labels ? n : 0);
  for (Index r = 0; r < n; ++r) {
    const auto& row = table.rows[r];
    const std::size_t line = table.line_numbers[r];
    for (Index c = 0; c < d; ++c) data.X(r, c) = ParseFiniteCell(row, c, table.header, where(line));
    data.y[r] = ParseFiniteCell(row, d, table.header, where(line));
    if (has_labels) {
      const double z = ParseFiniteCell(row, d + 1, table.header, where(line));
      // Also bounds z to int: a larger value would wrap when cast.
      if (z < 0 || z != std::floor(z) || z > std::numeric_limits<int>::max()) {
        throw std::invalid_argument(where(line) + ", column 'z': label must be a non-negative integer");
      }
      labels[r] = static_cast<int>(z);
    }
  }
  if (has_labels) data.labels = std::move(labels);
  return data;
}

}  // namespace moelab
