#include "moelab/rates/detail/study_folder.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>

#include "moelab/core/check.hpp"
#include "moelab/io/csv.hpp"
#include "moelab/io/text_snippet.hpp"

namespace moelab::detail {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kKeyColumns = {"n", "replication", "seed", "status"};

std::string FormatNumber(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%.17g", v);
  return buffer;
}

double ParseNumber(const std::string& text, const std::string& where) {
  if (text == "nan") return std::numeric_limits<double>::quiet_NaN();
  if (text == "inf") return std::numeric_limits<double>::infinity();
  if (text == "-inf") return -std::numeric_limits<double>::infinity();
  double value = 0.0;
  const auto result = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || result.ec != std::errc() || result.ptr != text.data() + text.size())
    throw std::invalid_argument(where + ": '" + text + "' is not a number");
  return value;
}

template <typename T>
T ParseInteger(const std::string& text, const std::string& where) {
  T value{};
  const auto result = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || result.ec != std::errc() || result.ptr != text.data() + text.size())
    throw std::invalid_argument(where + ": '" + text + "' is not an integer");
  return value;
}

std::string SanitiseStatus(std::string s) {
  for (char& c : s) {
    if (c == ',') c = ';';
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

std::string TrimTrailingNewlines(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

std::string FormatDuration(double seconds) {
  char buffer[32];
  if (seconds < 90) std::snprintf(buffer, sizeof buffer, "%.0f s", seconds);
  else if (seconds < 5400) std::snprintf(buffer, sizeof buffer, "%.1f min", seconds / 60);
  else std::snprintf(buffer, sizeof buffer, "%.1f h", seconds / 3600);
  return buffer;
}

std::string Describe(const ShardSpec& shard) {
  return shard.IsWhole() ? "the whole study" : "shard " + shard.ToString();
}

}  // namespace

std::string CellHeaderLine(const std::vector<std::string>& columns, bool with_seconds) {
  std::string line;
  for (const auto& c : kKeyColumns) line += (line.empty() ? "" : ",") + c;
  for (const auto& c : columns) line += "," + c;
  if (with_seconds) line += ",seconds,checksum";
  return line;
}

std::string RowChecksum(std::string_view row_body) {
  std::uint64_t hash = 14695981039346656037ULL;
  for (const char c : row_body) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ULL;
  }
  char buffer[17];
  std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(hash));
  return buffer;
}

std::string CellRowLine(const CellRecord& record, bool with_seconds) {
  std::string line = std::to_string(record.key.n) + "," + std::to_string(record.key.replication) +
                     "," + std::to_string(record.key.seed) + "," + SanitiseStatus(record.status);
  // Appended piecewise: `"," + FormatNumber(v)` trips a GCC 12 -Wrestrict false positive.
  for (double v : record.values) line.append(",").append(FormatNumber(v));
  if (with_seconds) {
    line.append(",").append(FormatNumber(record.seconds));
    const std::string checksum = RowChecksum(line);
    line.append(",").append(checksum);
  }
  return line;
}

CellRecord ParseCellRow(const std::vector<std::string>& fields, std::size_t num_values,
                        bool with_seconds, const std::string& where) {
  CellRecord r;
  r.key.n = ParseInteger<long long>(fields[0], where + " column n");
  r.key.replication = ParseInteger<int>(fields[1], where + " column replication");
  r.key.seed = ParseInteger<std::uint64_t>(fields[2], where + " column seed");
  r.status = fields[3];
  for (std::size_t v = 0; v < num_values; ++v)
    r.values.push_back(ParseNumber(fields[4 + v], where + " column " + std::to_string(5 + v)));
  if (with_seconds) r.seconds = ParseNumber(fields[4 + num_values], where + " column seconds");
  return r;
}

CellRecord ParseCellLogLine(const std::string& line, std::size_t num_values,
                            const std::string& where) {
  auto fields = SplitCsvLine(line);
  if (fields.size() != num_values + 6)
    ThrowInvalid("RunCells", where + ": malformed row (" + std::to_string(fields.size()) + " fields, expected " +
                                 std::to_string(num_values + 6) + ")");
  fields.pop_back();  // the checksum (checked by the caller)
  return ParseCellRow(fields, num_values, true, where);
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument("cannot open '" + path + "'");
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

void WriteFileAtomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error("cannot write '" + tmp + "'");
    out << text;
    out.flush();
    if (!out) {
      // The old file (if any) is untouched; do not leave the torn copy.
      std::error_code ec;
      fs::remove(tmp, ec);
      throw std::runtime_error("write to '" + tmp + "' failed (disk full?)");
    }
  }
  fs::rename(tmp, path);
}

void WriteAll(int fd, const std::string& text, const std::string& path) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t w = ::write(fd, text.data() + done, text.size() - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("write to '" + path + "' failed: " + std::strerror(errno));
    }
    done += static_cast<std::size_t>(w);
  }
}

void CheckSameStudy(const std::string& folder, const std::string& existing,
                    const std::string& identity, const ShardSpec& shard) {
  const std::string expected = ShardIdentity(identity, shard);
  const std::string a = TrimTrailingNewlines(existing);
  if (a == expected) return;
  const auto [folder_identity, folder_shard] = SplitShardIdentity(a);
  if (folder_identity == TrimTrailingNewlines(identity))
    ThrowInvalid("RunCells", "output folder '" + folder + "' holds " + Describe(folder_shard) +
                                 " of this study, not " + Describe(shard) +
                                 ". Give each shard its own folder (docs/scale_out.md).");
  const LineDifference d = FirstDifferingLine(a, expected);
  ThrowInvalid("RunCells", "output folder '" + folder +
                               "' holds a different study: its study.json differs from this "
                               "study's configuration at line " + std::to_string(d.line) +
                               " (folder: '" + d.a + "', this study: '" + d.b +
                               "'). Use another output folder, or delete this one to start over.");
}

std::vector<CellRecord> ReadCellLog(const std::string& log_path,
                                    const std::vector<std::string>& value_columns, bool truncate,
                                    std::vector<std::string>* ignored) {
  std::string text = ReadWholeFile(log_path);
  const std::size_t last_newline = text.rfind('\n');
  const std::size_t keep = last_newline == std::string::npos ? 0 : last_newline + 1;
  if (keep != text.size()) {
    if (truncate) fs::resize_file(log_path, keep);
    text.resize(keep);
  }
  const std::string header = CellHeaderLine(value_columns, true);
  std::vector<CellRecord> records;
  std::map<std::pair<Index, int>, std::pair<std::string, int>> first_row;  // cell -> (row, line)
  std::istringstream in(text);
  std::string line;
  int line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    const std::string where = log_path + ":" + std::to_string(line_number);
    if (line_number == 1) {
      if (line + ",checksum" == header)
        ThrowInvalid("RunCells", where + ": this cells.log has no row checksums (written by an older "
                                     "moelab), so its rows cannot be verified; move it away to "
                                     "recompute the cells, or use another output folder");
      if (line != header)
        ThrowInvalid("RunCells", where + ": header does not match this study's columns ('" +
                                     header + "'); the folder holds a different study");
      continue;
    }
    const std::size_t comma = line.rfind(',');
    if (comma == std::string::npos || line.compare(comma + 1, std::string::npos,
                                                   RowChecksum(std::string_view(line).substr(0, comma))) != 0) {
      if (ignored) ignored->push_back(where + ": row checksum does not match (edited or corrupted row); "
                                              "not used, the cell is recomputed");
      continue;
    }
    CellRecord record = ParseCellLogLine(line, value_columns.size(), where);
    // A cell may appear twice (killed after its row was written, then rerun)
    // but only with the same result; anything else is not this program's output.
    const std::string result = CellRowLine(record, false);
    const auto [it, inserted] =
        first_row.emplace(std::make_pair(record.key.n, record.key.replication), std::make_pair(result, line_number));
    if (!inserted && it->second.first != result)
      ThrowInvalid("RunCells", where + ": cell (n = " + std::to_string(record.key.n) + ", replication = " +
                                   std::to_string(record.key.replication) + ") has a different result than at line " +
                                   std::to_string(it->second.second) +
                                   "; the log was edited or mixes two runs. Remove the wrong row to continue.");
    records.push_back(std::move(record));
  }
  return records;
}

bool HoldsFinishedCells(const std::string& dir) {
  const fs::path log = fs::path(dir) / "cells.log";
  std::error_code ec;
  if (!fs::is_regular_file(log, ec)) return false;
  std::ifstream in(log, std::ios::binary);
  std::string line;
  int complete = 0;
  // Count newline-terminated lines: the header plus at least one row.
  while (complete < 2 && std::getline(in, line)) {
    if (in.eof()) break;  // the last line had no newline: torn
    ++complete;
  }
  return complete >= 2;
}

OpenedStudy OpenStudyFolder(const std::vector<CellKey>& all_cells, const CellRunnerOptions& options) {
  options.Validate();
  std::map<std::pair<Index, int>, std::size_t> index_of;
  for (std::size_t i = 0; i < all_cells.size(); ++i) {
    if (!index_of.emplace(std::make_pair(all_cells[i].n, all_cells[i].replication), i).second)
      ThrowInvalid("RunCells", "duplicate cell (n = " + std::to_string(all_cells[i].n) +
                                   ", replication = " + std::to_string(all_cells[i].replication) + ")");
  }
  if (all_cells.empty()) ThrowInvalid("RunCells", "the study has no cells");

  OpenedStudy study;
  // The shard rule numbers the (n, replication)-sorted list (shard_spec.hpp).
  std::size_t position = 0;
  for (const auto& [key, i] : index_of)
    if (options.shard.Owns(position++)) study.cells.push_back(all_cells[i]);
  index_of.clear();
  for (std::size_t i = 0; i < study.cells.size(); ++i)
    index_of.emplace(std::make_pair(study.cells[i].n, study.cells[i].replication), i);

  const fs::path dir(options.out_dir);
  study.dir = dir.string();
  fs::create_directories(dir);
  study.lock = std::make_shared<FolderLock>(study.dir);
  const std::string study_path = (dir / "study.json").string();
  study.log_path = (dir / "cells.log").string();
  if (fs::exists(study_path) && !HoldsFinishedCells(study.dir) &&
      TrimTrailingNewlines(ReadWholeFile(study_path)) != ShardIdentity(options.identity, options.shard)) {
    // Another study's folder without a single finished cell (e.g. a run
    // refused or killed before its first cell): nothing to protect.
    fs::remove(study.log_path);
    WriteFileAtomically(study_path, ShardIdentity(options.identity, options.shard) + "\n");
  } else if (fs::exists(study_path)) {
    CheckSameStudy(options.out_dir, ReadWholeFile(study_path), options.identity, options.shard);
  } else {
    if (fs::exists(study.log_path))
      ThrowInvalid("RunCells", "output folder '" + options.out_dir +
                                   "' has a cells.log but no study.json; it holds an unknown "
                                   "study. Use another output folder.");
    WriteFileAtomically(study_path, ShardIdentity(options.identity, options.shard) + "\n");
  }

  // Resume: the finished cells, cutting off a truncated last line.
  study.done.assign(study.cells.size(), false);
  if (fs::exists(study.log_path)) {
    std::vector<std::string> ignored;
    const std::vector<CellRecord> rows = ReadCellLog(study.log_path, options.value_columns, true, &ignored);
    for (const auto& message : ignored) std::fprintf(stderr, "%s\n", message.c_str());
    for (const CellRecord& r : rows) {
      const auto it = index_of.find({r.key.n, r.key.replication});
      if (it == index_of.end() || study.cells[it->second].seed != r.key.seed)
        ThrowInvalid("RunCells", study.log_path + ": cell (n = " +
                                     std::to_string(r.key.n) + ", replication = " +
                                     std::to_string(r.key.replication) + ") is not part of " +
                                     (options.shard.IsWhole() ? "this study" : "this shard"));
      if (study.done[it->second]) continue;  // a duplicate row carries the same numbers
      study.done[it->second] = true;
      ++study.resumed;
    }
  }
  if (!fs::exists(study.log_path) || fs::file_size(study.log_path) == 0)
    WriteFileAtomically(study.log_path, CellHeaderLine(options.value_columns, true) + "\n");
  return study;
}

std::vector<std::size_t> PendingLargestFirst(const OpenedStudy& study, long long stop_after) {
  std::vector<std::size_t> pending;
  for (std::size_t i = 0; i < study.cells.size(); ++i)
    if (!study.done[i]) pending.push_back(i);
  std::stable_sort(pending.begin(), pending.end(), [&](std::size_t a, std::size_t b) {
    return study.cells[a].n > study.cells[b].n;
  });
  if (stop_after >= 0 && static_cast<long long>(pending.size()) > stop_after)
    pending.resize(static_cast<std::size_t>(stop_after));
  return pending;
}

std::string FinaliseStudyFolder(const std::string& dir, const std::vector<std::string>& value_columns) {
  const fs::path folder(dir);
  std::vector<CellRecord> all = ReadCellLog((folder / "cells.log").string(), value_columns, false);
  std::map<std::pair<Index, int>, CellRecord> unique;
  for (auto& r : all) unique.emplace(std::make_pair(r.key.n, r.key.replication), std::move(r));
  std::string csv = CellHeaderLine(value_columns, false) + "\n";
  std::string timings = "n,replication,seconds\n";
  for (const auto& [key, r] : unique) {
    csv += CellRowLine(r, false) + "\n";
    timings += std::to_string(r.key.n) + "," + std::to_string(r.key.replication) + "," +
               FormatNumber(r.seconds) + "\n";
  }
  const std::string cells_csv = (folder / "cells.csv").string();
  WriteFileAtomically(cells_csv, csv);
  WriteFileAtomically((folder / "timings.csv").string(), timings);
  return cells_csv;
}

ProgressLine::ProgressLine(const CellRunnerOptions& options, int total, int resumed, int pending)
    : enabled_(options.progress == CellRunnerOptions::Progress::kOn ||
               (options.progress == CellRunnerOptions::Progress::kAuto && ::isatty(STDERR_FILENO))),
      label_(options.label),
      total_(total),
      resumed_(resumed),
      pending_(pending),
      start_(Clock::now()),
      last_print_(Clock::now() - std::chrono::seconds(10)) {}

ProgressLine::~ProgressLine() {
  if (printed_) std::fprintf(stderr, "\n");
}

void ProgressLine::CellDone() {
  ++finished_;
  if (!enabled_) return;
  const auto now = Clock::now();
  if (now - last_print_ <= std::chrono::milliseconds(250) && finished_ != pending_) return;
  last_print_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = finished_ / std::max(elapsed, 1e-9);
  const double left = (pending_ - finished_) / std::max(rate, 1e-12);
  std::fprintf(stderr, "\r%s%d/%d cells (%d resumed) | %.2f cells/s | ~%s left   ",
               label_.empty() ? "" : (label_ + ": ").c_str(), resumed_ + finished_, total_, resumed_,
               rate, FormatDuration(left).c_str());
  std::fflush(stderr);
  printed_ = true;
}

}  // namespace moelab::detail
