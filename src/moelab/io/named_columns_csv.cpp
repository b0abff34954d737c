#include "moelab/io/named_columns_csv.hpp"

#include <algorithm>
#include <map>
#include <stdexcept>

#include "moelab/io/csv.hpp"

namespace moelab {

namespace {

// Spaces and one pair of surrounding double quotes removed.
std::string Unquote(const std::string& text) {
  std::size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string::npos) return "";
  std::size_t end = text.find_last_not_of(" \t") + 1;
  if (end - begin >= 2 && text[begin] == '"' && text[end - 1] == '"') {
    ++begin;
    --end;
  }
  return text.substr(begin, end - begin);
}

std::string Where(const std::string& path, std::size_t line) {
  return path + ":" + std::to_string(line);
}

std::string ListNames(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) {
    if (name.empty()) continue;
    out += (out.empty() ? "'" : ", '") + name + "'";
  }
  return out;
}

// Column index of every requested name; throws naming the file and the
// available columns for an unknown or repeated one.
std::vector<std::size_t> ResolveColumns(const std::string& path,
                                        const std::vector<std::string>& header,
                                        const std::vector<std::string>& names) {
  std::map<std::string, std::size_t> index;
  for (std::size_t c = 0; c < header.size(); ++c) {
    if (header[c].empty()) continue;
    if (!index.emplace(header[c], c).second) {
      throw std::invalid_argument(Where(path, 1) + ": column '" + header[c] +
                                  "' appears twice in the header");
    }
  }
  std::vector<std::size_t> columns;
  for (const std::string& name : names) {
    const auto it = index.find(name);
    if (it == index.end()) {
      throw std::invalid_argument(Where(path, 1) + ": no column '" + name +
                                  "' in the header (columns: " + ListNames(header) + ")");
    }
    if (std::find(columns.begin(), columns.end(), it->second) != columns.end()) {
      throw std::invalid_argument("column '" + name + "' is asked for twice");
    }
    columns.push_back(it->second);
  }
  return columns;
}

// Rows of `table` restricted to `columns` (the last one is y when has_y).
NamedColumnsData Extract(const std::string& path, const CsvTable& table,
                         const std::vector<std::size_t>& x_columns, std::size_t y_column,
                         bool has_y, MissingValues missing) {
  NamedColumnsData out;
  out.rows_read = table.rows.size();
  std::vector<std::size_t> used = x_columns;
  if (has_y) used.push_back(y_column);
  std::vector<std::vector<double>> values;
  for (std::size_t r = 0; r < table.rows.size(); ++r) {
    const std::vector<std::string>& row = table.rows[r];
    const std::size_t line = table.line_numbers[r];
    bool complete = true;
    std::vector<double> parsed;
    for (std::size_t c : used) {
      const std::string cell = Unquote(row[c]);
      if (IsMissingCell(cell)) {
        if (missing == MissingValues::kError) {
          throw std::invalid_argument(Where(path, line) + ", column '" + table.header[c] +
                                      "': missing value '" + row[c] +
                                      "' (use --na drop to drop such rows)");
        }
        complete = false;
        break;
      }
      std::vector<std::string> one{cell};
      std::vector<std::string> name{table.header[c]};
      parsed.push_back(ParseFiniteCell(one, 0, name, Where(path, line)));
    }
    if (!complete) {
      out.dropped_lines.push_back(line);
      continue;
    }
    values.push_back(std::move(parsed));
    out.line_numbers.push_back(line);
  }
  if (values.empty()) {
    throw std::invalid_argument(path + ": no complete data rows (" +
                                std::to_string(out.rows_read) + " read, " +
                                std::to_string(out.dropped_lines.size()) +
                                " with a missing value)");
  }
  const Index n = static_cast<Index>(values.size());
  const Index d = static_cast<Index>(x_columns.size());
  out.data.X.resize(n, d);
  out.data.y = Vector::Zero(n);
  for (Index r = 0; r < n; ++r) {
    for (Index c = 0; c < d; ++c) out.data.X(r, c) = values[r][c];
    if (has_y) out.data.y[r] = values[r][d];
  }
  for (std::size_t c : x_columns) out.x_names.push_back(table.header[c]);
  if (has_y) out.y_name = table.header[y_column];
  return out;
}

CsvTable ReadUnquoted(const std::string& path) {
  CsvTable table = ReadCsv(path);
  for (std::string& name : table.header) name = Unquote(name);
  return table;
}

}  // namespace

const char* ToString(MissingValues policy) {
  return policy == MissingValues::kDrop ? "drop" : "error";
}

MissingValues ParseMissingValues(const std::string& name) {
  if (name == "drop") return MissingValues::kDrop;
  if (name == "error") return MissingValues::kError;
  throw std::invalid_argument("unknown missing-value policy '" + name +
                              "' (valid: drop, error)");
}

bool IsMissingCell(const std::string& cell) {
  const std::string text = Unquote(cell);
  return text.empty() || text == "NA" || text == "NaN" || text == "nan" || text == "N/A";
}

NamedColumnsData ReadNamedColumnsCsv(const std::string& path,
                                     const NamedColumnsOptions& options) {
  const CsvTable table = ReadUnquoted(path);
  if (table.rows.empty()) {
    throw std::invalid_argument(path + ": the file has a header but no data rows");
  }
  std::string y_name = options.y_column;
  if (y_name.empty()) {
    y_name = table.header.back();
    if (y_name.empty()) {
      throw std::invalid_argument(Where(path, 1) +
                                  ": the last column has no name; choose y by name (--y)");
    }
  }
  std::vector<std::string> x_names = options.x_columns;
  if (x_names.empty()) {
    for (const std::string& name : table.header) {
      if (!name.empty() && name != y_name) x_names.push_back(name);
    }
    if (x_names.empty()) {
      throw std::invalid_argument(Where(path, 1) + ": no covariate column besides '" + y_name +
                                  "'");
    }
  }
  if (std::find(x_names.begin(), x_names.end(), y_name) != x_names.end()) {
    throw std::invalid_argument("column '" + y_name + "' is both the response and a covariate");
  }
  std::vector<std::string> all = x_names;
  all.push_back(y_name);
  const std::vector<std::size_t> columns = ResolveColumns(path, table.header, all);
  const std::vector<std::size_t> x_columns(columns.begin(), columns.end() - 1);
  return Extract(path, table, x_columns, columns.back(), /*has_y=*/true, options.missing);
}

NamedColumnsData ReadCovariatesCsv(const std::string& path,
                                   const std::vector<std::string>& x_names,
                                   MissingValues missing) {
  if (x_names.empty()) throw std::invalid_argument("ReadCovariatesCsv: no covariate names");
  const CsvTable table = ReadUnquoted(path);
  if (table.rows.empty()) {
    throw std::invalid_argument(path + ": the file has a header but no data rows");
  }
  const std::vector<std::size_t> columns = ResolveColumns(path, table.header, x_names);
  return Extract(path, table, columns, 0, /*has_y=*/false, missing);
}

}  // namespace moelab
