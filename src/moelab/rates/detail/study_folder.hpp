// Internals of a study folder shared by the three ways of filling it: the
// threaded runner (RunCells), the MPI runner (mpi/mpi_cell_runner.hpp) and
// the shard merge (shard_merge.hpp). One code path for the file formats,
// the resume rule and the final cells.csv is what makes their outputs
// byte-identical. File formats: cell_runner.hpp.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "moelab/rates/cell_runner.hpp"
#include "moelab/rates/folder_lock.hpp"

namespace moelab::detail {

// "n,replication,seed,status,<columns>[,seconds,checksum]": with_seconds is
// the cells.log format, whose rows end in a checksum of the rest of the row.
std::string CellHeaderLine(const std::vector<std::string>& columns, bool with_seconds);
// One row (no line break); status sanitised, numbers %.17g; with_seconds: the
// seconds and the row checksum appended (cells.log).
std::string CellRowLine(const CellRecord& record, bool with_seconds);
// The checksum of a cells.log row: FNV-1a 64 of the text before its last
// comma, 16 lower-case hex digits. Detects edited and corrupted rows (not
// an authentication: anyone can recompute it).
std::string RowChecksum(std::string_view row_body);
// Parses the split fields of a row (cells.csv, or cells.log with seconds);
// throws std::invalid_argument naming `where`.
CellRecord ParseCellRow(const std::vector<std::string>& fields, std::size_t num_values,
                        bool with_seconds, const std::string& where);
// Parses a cells.log row; throws std::invalid_argument naming `where`.
CellRecord ParseCellLogLine(const std::string& line, std::size_t num_values,
                            const std::string& where);

std::string ReadWholeFile(const std::string& path);
void WriteFileAtomically(const std::string& path, const std::string& text);
// write(2) until done (the kill-safe single append of one cells.log line).
void WriteAll(int fd, const std::string& text, const std::string& path);

// Throws std::invalid_argument when the study.json text `existing` of
// `folder` is not `identity` run as `shard` (naming the other shard when it
// is the same study, else the first differing line).
void CheckSameStudy(const std::string& folder, const std::string& existing,
                    const std::string& identity, const ShardSpec& shard);

// The rows of a cells.log in file order. A truncated last line (a kill in
// mid-write) is ignored, and cut off the file when `truncate` is set. A row
// whose checksum does not match (edited, corrupted) is never used: it is
// skipped and described in `*ignored` (when given), so its cell counts as not
// done and is recomputed. Throws std::invalid_argument on a header that is
// not the study's (a log without checksums, from before they existed, is
// refused with its own message), a malformed row with a valid checksum, or
// two rows of one cell with different results (naming file and lines).
std::vector<CellRecord> ReadCellLog(const std::string& log_path,
                                    const std::vector<std::string>& value_columns,
                                    bool truncate, std::vector<std::string>* ignored = nullptr);

// True when `dir` has a cells.log with at least one complete row: only then
// does the folder hold work that a different study must not overwrite.
bool HoldsFinishedCells(const std::string& dir);

// A study folder opened for appending: options validated, the cell list
// checked, the folder locked (FolderLock), study.json written or checked (a
// folder whose study.json differs but that holds no finished cell is taken
// over: nothing is lost), cells.log read (resume; rows with a bad checksum
// are reported on stderr and recomputed) and its header written.
struct OpenedStudy {
  std::string dir;
  std::string log_path;
  std::vector<CellKey> cells;  // the cells of this run (its shard), sorted by (n, r)
  std::vector<bool> done;      // per entry of `cells`
  int resumed = 0;
  std::shared_ptr<FolderLock> lock;  // held while the study is open (no second run)
};
OpenedStudy OpenStudyFolder(const std::vector<CellKey>& all_cells,
                            const CellRunnerOptions& options);

// Indices into study.cells still to compute, largest n first (expensive cells
// start early so the workers finish together), cut to `stop_after` (>= 0).
std::vector<std::size_t> PendingLargestFirst(const OpenedStudy& study, long long stop_after);

// Writes cells.csv (sorted, no times) and timings.csv from the folder's
// cells.log, atomically. Returns the path of cells.csv.
std::string FinaliseStudyFolder(const std::string& dir, const std::vector<std::string>& value_columns);

// The updating progress line of a run ("done/total cells, rate, time left").
class ProgressLine {
 public:
  ProgressLine(const CellRunnerOptions& options, int total, int resumed, int pending);
  ~ProgressLine();  // ends the line if one was printed
  void CellDone();  // not thread-safe: call under the caller's lock

 private:
  using Clock = std::chrono::steady_clock;
  bool enabled_;
  std::string label_;
  int total_, resumed_, pending_, finished_ = 0;
  Clock::time_point start_, last_print_;
  bool printed_ = false;
};

}  // namespace moelab::detail
