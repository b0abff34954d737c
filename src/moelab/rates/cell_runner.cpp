#include "moelab/rates/cell_runner.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "moelab/core/check.hpp"
#include "moelab/core/rng.hpp"
#include "moelab/io/csv.hpp"
#include "moelab/rates/detail/study_folder.hpp"

namespace moelab {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

const std::vector<std::string> kKeyColumns = {"n", "replication", "seed", "status"};

}  // namespace

void CheckStudyFolder(const std::string& out_dir, const std::string& identity,
                      const ShardSpec& shard) {
  const fs::path study = fs::path(out_dir) / "study.json";
  // A folder without a finished cell holds nothing to protect (OpenStudyFolder
  // takes it over), e.g. one left by a run refused before its first cell.
  if (!detail::HoldsFinishedCells(out_dir)) return;
  if (fs::exists(study))
    detail::CheckSameStudy(out_dir, detail::ReadWholeFile(study.string()), identity, shard);
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
  if (shard.count < 1 || shard.index < 0 || shard.index >= shard.count)
    ThrowInvalid(fn, "shard must be i/N with 0 <= i < N (got " + shard.ToString() + ")");
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
  const bool with_seconds = false;
  if (header == detail::CellHeaderLine(value_columns, true))
    return detail::ReadCellLog(path, value_columns, false);
  if (header != detail::CellHeaderLine(value_columns, false))
    throw std::invalid_argument(path + ":1: header '" + header + "' does not match the study ('" +
                                detail::CellHeaderLine(value_columns, false) + "')");
  std::vector<CellRecord> records;
  for (std::size_t i = 0; i < table.rows.size(); ++i) {
    records.push_back(detail::ParseCellRow(table.rows[i], value_columns.size(), with_seconds,
                                           path + ":" + std::to_string(table.line_numbers[i])));
  }
  return records;
}

CellRunSummary RunCells(const std::vector<CellKey>& cells, const CellFunction& function,
                        const CellRunnerOptions& options) {
  const auto start = Clock::now();
  const detail::OpenedStudy study = detail::OpenStudyFolder(cells, options);

  CellRunSummary summary;
  summary.total = static_cast<int>(study.cells.size());
  summary.resumed = study.resumed;
  const std::vector<std::size_t> pending = detail::PendingLargestFirst(study, options.stop_after);

  int threads = options.num_threads > 0 ? options.num_threads
                                        : static_cast<int>(std::thread::hardware_concurrency());
  threads = std::max(1, std::min<int>(threads, static_cast<int>(pending.size())));

  const int fd = ::open(study.log_path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot open '" + study.log_path + "' for appending");
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mutex;
  std::exception_ptr error;
  int finished = 0;
  {
    detail::ProgressLine progress(options, summary.total, summary.resumed,
                                  static_cast<int>(pending.size()));
    auto worker = [&] {
      while (!failed.load()) {
        const std::size_t j = next.fetch_add(1);
        if (j >= pending.size()) return;
        const CellKey& key = study.cells[pending[j]];
        try {
          const auto t0 = Clock::now();
          CellRecord record = function(key);
          record.key = key;
          record.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
          if (record.values.size() != options.value_columns.size())
            throw std::logic_error("RunCells: the cell function returned " +
                                   std::to_string(record.values.size()) + " values for " +
                                   std::to_string(options.value_columns.size()) + " columns");
          const std::string line = detail::CellRowLine(record, true) + "\n";
          std::lock_guard<std::mutex> lock(mutex);
          detail::WriteAll(fd, line, study.log_path);
          ++finished;
          progress.CellDone();
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
  }
  ::close(fd);
  if (error) std::rethrow_exception(error);
  summary.computed = finished;
  summary.seconds = std::chrono::duration<double>(Clock::now() - start).count();

  // Final deterministic files when every cell is done (shards: MergeShards).
  summary.complete = summary.resumed + summary.computed == summary.total;
  if (summary.complete && options.shard.IsWhole())
    summary.cells_csv = detail::FinaliseStudyFolder(study.dir, options.value_columns);
  return summary;
}

}  // namespace moelab
