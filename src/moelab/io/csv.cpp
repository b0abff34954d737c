#include "moelab/io/csv.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "moelab/io/text_snippet.hpp"

namespace moelab {

std::vector<std::string> SplitCsvLine(const std::string& line) {
  std::vector<std::string> fields;
  std::string field;
  for (char ch : line) {
    if (ch == ',') {
      fields.push_back(field);
      field.clear();
    } else if (ch != '\r') {
      field += ch;
    }
  }
  fields.push_back(field);
  return fields;
}

CsvTable ReadCsv(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw std::invalid_argument("'" + path + "' is a directory, not a CSV file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument("cannot open CSV file '" + path + "'");
  CsvTable table;
  std::string line;
  std::size_t line_number = 0;
  bool have_header = false;
  while (std::getline(in, line)) {
    ++line_number;
    // A UTF-8 byte-order mark (spreadsheet exports) is not part of the header.
    if (line_number == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);
    if (const std::size_t nul = line.find('\0'); nul != std::string::npos)
      throw std::invalid_argument(path + ":" + std::to_string(line_number) + ", column " +
                                  std::to_string(nul + 1) + ": NUL byte (a binary file, or a "
                                  "text encoding other than UTF-8/ASCII such as UTF-16?)");
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto fields = SplitCsvLine(line);
    if (!have_header) {
      table.header = std::move(fields);
      have_header = true;
      continue;
    }
    if (fields.size() != table.header.size()) {
      throw std::invalid_argument(path + ":" + std::to_string(line_number) + ": row has " +
                                  std::to_string(fields.size()) + " fields, the header has " +
                                  std::to_string(table.header.size()));
    }
    table.rows.push_back(std::move(fields));
    table.line_numbers.push_back(line_number);
  }
  if (!have_header) throw std::invalid_argument(path + ": the file is empty (no header)");
  return table;
}

double ParseFiniteCell(const std::vector<std::string>& row, std::size_t column,
                       const std::vector<std::string>& header, const std::string& where) {
  const std::string& text = row.at(column);
  const std::string column_name = "column " + Snippet(header.at(column));
  double value = 0.0;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  while (begin < end && *begin == ' ') ++begin;
  while (end > begin && end[-1] == ' ') --end;
  const auto result = std::from_chars(begin, end, value);
  if (begin == end || result.ec != std::errc() || result.ptr != end) {
    if (result.ec == std::errc::result_out_of_range && result.ptr == end)
      throw std::invalid_argument(where + ", " + column_name + ": " + Snippet(text) +
                                  " is out of range (beyond what a double holds)");
    throw std::invalid_argument(where + ", " + column_name + ": " + Snippet(text) + " is not a number");
  }
  if (!std::isfinite(value)) {
    throw std::invalid_argument(where + ", " + column_name + ": value " + Snippet(text) +
                                " is not finite (NaN/Inf are not allowed)");
  }
  return value;
}

std::string CsvNumber(double value, int digits) {
  if (std::isnan(value)) return "";
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "%.*g", digits, value);
  return buffer;
}

}  // namespace moelab
