#include "moelab/rates/cell_runner.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "moelab/core/check.hpp"
#include "moelab/core/rng.hpp"
#include "moelab/io/csv.hpp"

namespace moelab {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

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

std::string HeaderLine(const std::vector<std::string>& columns, bool with_seconds) {
  std::string line;
  for (const auto& c : kKeyColumns) line += (line.empty() ? "" : ",") + c;
  for (const auto& c : columns) line += "," + c;
  if (with_seconds) line += ",seconds";
  return line;
}

std::string RowLine(const CellRecord& record, bool with_seconds) {
  std::string line = std::to_string(record.key.n) + "," + std::to_string(record.key.replication) +
                     "," + std::to_string(record.key.seed) + "," + SanitiseStatus(record.status);
  for (double v : record.values) line += "," + FormatNumber(v);
  if (with_seconds) line += "," + FormatNumber(record.seconds);
  return line;
}

CellRecord ParseRow(const std::vector<std::string>& fields, std::size_t num_values,
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
    if (!out) throw std::runtime_error("write to '" + tmp + "' failed");
  }
  fs::rename(tmp, path);
}

std::string TrimTrailingNewlines(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

// Throws when `existing` (from study.json) differs from `identity`.
void CheckSameStudy(const std::string& folder, const std::string& existing,
                    const std::string& identity) {
  const std::string a = TrimTrailingNewlines(existing), b = TrimTrailingNewlines(identity);
  if (a == b) return;
  std::istringstream sa(a), sb(b);
  std::string la, lb;
  int line = 0;
  while (true) {
    ++line;
    const bool ga = static_cast<bool>(std::getline(sa, la));
    const bool gb = static_cast<bool>(std::getline(sb, lb));
    if (!ga) la = "<end>";
    if (!gb) lb = "<end>";
    if (la != lb || (!ga && !gb)) break;
  }
  ThrowInvalid("RunCells", "output folder '" + folder +
                               "' holds a different study: its study.json differs from this "
                               "study's configuration at line " + std::to_string(line) +
                               " (folder: '" + la + "', this study: '" + lb +
                               "'). Use another output folder, or delete this one to start over.");
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

std::string FormatDuration(double seconds) {
  char buffer[32];
  if (seconds < 90) std::snprintf(buffer, sizeof buffer, "%.0f s", seconds);
  else if (seconds < 5400) std::snprintf(buffer, sizeof buffer, "%.1f min", seconds / 60);
  else std::snprintf(buffer, sizeof buffer, "%.1f h", seconds / 3600);
  return buffer;
}

}  // namespace

void CheckStudyFolder(const std::string& out_dir, const std::string& identity) {
  const fs::path study = fs::path(out_dir) / "study.json";
  if (fs::exists(study)) CheckSameStudy(out_dir, ReadWholeFile(study.string()), identity);
  else if (fs::exists(fs::path(out_dir) / "cells.log"))
    ThrowInvalid("RunCells", "output folder '" + out_dir +
                                 "' has a cells.log but no study.json; it holds an unknown "
                                 "study. Use another output folder.");
}

std::uint64_t CellSeed(std::uint64_t base_seed, Index n, int replication) {
  return DeriveSeed(base_seed, static_cast<std::uint64_t>(n), static_cast<std::uint64_t>(replication));
}

std::vector<CellKey> MakeCells(const std::vector<Index>& sample_sizes, int replications,
                               std::uint64_t base_seed) {
  if (replications < 1) ThrowInvalid("MakeCells", "replications must be >= 1");
  std::vector<Index> sorted = sample_sizes;
  std::sort(sorted.begin(), sorted.end());
  std::vector<CellKey> cells;
  for (Index n : sorted) {
    for (int r = 0; r < replications; ++r) cells.push_back({n, r, CellSeed(base_seed, n, r)});
  }
  return cells;
}

void CellRunnerOptions::Validate() const {
  const char* fn = "CellRunnerOptions::Validate";
  if (out_dir.empty()) ThrowInvalid(fn, "out_dir must not be empty");
  if (identity.empty()) ThrowInvalid(fn, "identity must not be empty");
  if (num_threads < 0) ThrowInvalid(fn, "num_threads must be >= 0");
  if (stop_after < -1) ThrowInvalid(fn, "stop_after must be >= -1");
  std::set<std::string> seen;
  for (const auto& c : value_columns) {
    if (c.empty() || c.find_first_of(",\n\r") != std::string::npos)
      ThrowInvalid(fn, "value_columns: bad column name '" + c + "'");
    if (std::find(kKeyColumns.begin(), kKeyColumns.end(), c) != kKeyColumns.end() ||
        c == "seconds")
      ThrowInvalid(fn, "value_columns: '" + c + "' is reserved");
    if (!seen.insert(c).second) ThrowInvalid(fn, "value_columns: duplicate '" + c + "'");
  }
}

std::vector<CellRecord> ReadCellRecords(const std::string& path,
                                        const std::vector<std::string>& value_columns) {
  const CsvTable table = ReadCsv(path);
  const std::string header = [&] {
    std::string h;
    for (const auto& c : table.header) h += (h.empty() ? "" : ",") + c;
    return h;
  }();
  bool with_seconds = false;
  if (header == HeaderLine(value_columns, true)) with_seconds = true;
  else if (header != HeaderLine(value_columns, false))
    throw std::invalid_argument(path + ":1: header '" + header + "' does not match the study ('" +
                                HeaderLine(value_columns, false) + "')");
  std::vector<CellRecord> records;
  for (std::size_t i = 0; i < table.rows.size(); ++i) {
    records.push_back(ParseRow(table.rows[i], value_columns.size(), with_seconds,
                               path + ":" + std::to_string(table.line_numbers[i])));
  }
  return records;
}

CellRunSummary RunCells(const std::vector<CellKey>& cells, const CellFunction& function,
                        const CellRunnerOptions& options) {
  options.Validate();
  const auto start = Clock::now();
  std::map<std::pair<Index, int>, std::size_t> index_of;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    if (!index_of.emplace(std::make_pair(cells[i].n, cells[i].replication), i).second)
      ThrowInvalid("RunCells", "duplicate cell (n = " + std::to_string(cells[i].n) +
                                   ", replication = " + std::to_string(cells[i].replication) + ")");
  }
  if (cells.empty()) ThrowInvalid("RunCells", "the study has no cells");

  const fs::path dir(options.out_dir);
  fs::create_directories(dir);
  const std::string study_path = (dir / "study.json").string();
  const std::string log_path = (dir / "cells.log").string();
  if (fs::exists(study_path)) {
    CheckSameStudy(options.out_dir, ReadWholeFile(study_path), options.identity);
  } else {
    if (fs::exists(log_path))
      ThrowInvalid("RunCells", "output folder '" + options.out_dir +
                                   "' has a cells.log but no study.json; it holds an unknown "
                                   "study. Use another output folder.");
    WriteFileAtomically(study_path, TrimTrailingNewlines(options.identity) + "\n");
  }

  // Resume: read the finished cells, cutting off a truncated last line.
  const std::string header = HeaderLine(options.value_columns, true);
  std::vector<CellRecord> done_records;
  std::vector<bool> done(cells.size(), false);
  if (fs::exists(log_path)) {
    std::string text = ReadWholeFile(log_path);
    const std::size_t last_newline = text.rfind('\n');
    const std::size_t keep = last_newline == std::string::npos ? 0 : last_newline + 1;
    if (keep != text.size()) {
      fs::resize_file(log_path, keep);
      text.resize(keep);
    }
    std::istringstream in(text);
    std::string line;
    int line_number = 0;
    while (std::getline(in, line)) {
      ++line_number;
      const std::string where = log_path + ":" + std::to_string(line_number);
      if (line_number == 1) {
        if (line != header)
          ThrowInvalid("RunCells", where + ": header does not match this study's columns ('" +
                                       header + "'); the folder holds a different study");
        continue;
      }
      const auto fields = SplitCsvLine(line);
      if (fields.size() != options.value_columns.size() + 5)
        ThrowInvalid("RunCells", where + ": malformed row (" + std::to_string(fields.size()) +
                                     " fields)");
      CellRecord r = ParseRow(fields, options.value_columns.size(), true, where);
      const auto it = index_of.find({r.key.n, r.key.replication});
      if (it == index_of.end() || cells[it->second].seed != r.key.seed)
        ThrowInvalid("RunCells", where + ": cell (n = " + std::to_string(r.key.n) +
                                     ", replication = " + std::to_string(r.key.replication) +
                                     ") is not part of this study");
      if (done[it->second]) continue;  // a duplicate row carries the same numbers
      done[it->second] = true;
      done_records.push_back(std::move(r));
    }
  }
  if (!fs::exists(log_path) || fs::file_size(log_path) == 0) {
    WriteFileAtomically(log_path, header + "\n");
  }

  CellRunSummary summary;
  summary.total = static_cast<int>(cells.size());
  summary.resumed = static_cast<int>(done_records.size());
  summary.cells_csv = (dir / "cells.csv").string();

  std::vector<std::size_t> pending;
  for (std::size_t i = 0; i < cells.size(); ++i)
    if (!done[i]) pending.push_back(i);
  // Largest n first: the expensive cells start early, so threads finish together.
  std::stable_sort(pending.begin(), pending.end(), [&](std::size_t a, std::size_t b) {
    return cells[a].n > cells[b].n;
  });
  if (options.stop_after >= 0 && static_cast<long long>(pending.size()) > options.stop_after)
    pending.resize(static_cast<std::size_t>(options.stop_after));

  int threads = options.num_threads > 0 ? options.num_threads
                                        : static_cast<int>(std::thread::hardware_concurrency());
  threads = std::max(1, std::min<int>(threads, static_cast<int>(pending.size())));
  const bool progress =
      options.progress == CellRunnerOptions::Progress::kOn ||
      (options.progress == CellRunnerOptions::Progress::kAuto && ::isatty(STDERR_FILENO));

  const int fd = ::open(log_path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot open '" + log_path + "' for appending");
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mutex;
  std::exception_ptr error;
  int finished = 0;
  auto last_print = Clock::now() - std::chrono::seconds(10);
  bool printed = false;

  auto worker = [&] {
    while (!failed.load()) {
      const std::size_t j = next.fetch_add(1);
      if (j >= pending.size()) return;
      const CellKey& key = cells[pending[j]];
      try {
        const auto t0 = Clock::now();
        CellRecord record = function(key);
        record.key = key;
        record.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
        if (record.values.size() != options.value_columns.size())
          throw std::logic_error("RunCells: the cell function returned " +
                                 std::to_string(record.values.size()) + " values for " +
                                 std::to_string(options.value_columns.size()) + " columns");
        const std::string line = RowLine(record, true) + "\n";
        std::lock_guard<std::mutex> lock(mutex);
        WriteAll(fd, line, log_path);
        ++finished;
        if (progress) {
          const auto now = Clock::now();
          if (now - last_print > std::chrono::milliseconds(250) ||
              finished == static_cast<int>(pending.size())) {
            last_print = now;
            const double elapsed = std::chrono::duration<double>(now - start).count();
            const double rate = finished / std::max(elapsed, 1e-9);
            const double left = (pending.size() - finished) / std::max(rate, 1e-12);
            std::fprintf(stderr, "\r%s%d/%d cells (%d resumed) | %.2f cells/s | ~%s left   ",
                         options.label.empty() ? "" : (options.label + ": ").c_str(),
                         summary.resumed + finished, summary.total, summary.resumed, rate,
                         FormatDuration(left).c_str());
            std::fflush(stderr);
            printed = true;
          }
        }
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex);
        if (!error) error = std::current_exception();
        failed.store(true);
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  ::close(fd);
  if (printed) std::fprintf(stderr, "\n");
  if (error) std::rethrow_exception(error);
  summary.computed = finished;
  summary.seconds = std::chrono::duration<double>(Clock::now() - start).count();

  // Final deterministic files when every cell is done.
  if (summary.resumed + summary.computed == summary.total) {
    std::vector<CellRecord> all = ReadCellRecords(log_path, options.value_columns);
    std::map<std::pair<Index, int>, CellRecord> unique;
    for (auto& r : all) unique.emplace(std::make_pair(r.key.n, r.key.replication), std::move(r));
    std::string csv = HeaderLine(options.value_columns, false) + "\n";
    std::string timings = "n,replication,seconds\n";
    for (const auto& [key, r] : unique) {
      csv += RowLine(r, false) + "\n";
      timings += std::to_string(r.key.n) + "," + std::to_string(r.key.replication) + "," +
                 FormatNumber(r.seconds) + "\n";
    }
    WriteFileAtomically(summary.cells_csv, csv);
    WriteFileAtomically((dir / "timings.csv").string(), timings);
    summary.complete = true;
  }
  return summary;
}

}  // namespace moelab
