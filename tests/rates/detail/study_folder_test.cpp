// Issue 14: study folders are owned and their logs verified. A second run
// into a folder in use is refused; an edited or corrupted cells.log row is
// never used (its cell is recomputed); two rows of one cell with different
// results are refused; a folder without finished cells does not block a
// corrected run; a full disk is reported and leaves the study resumable.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "moelab/rates/cell_runner.hpp"
#include "moelab/rates/detail/study_folder.hpp"
#include "moelab/rates/folder_lock.hpp"
#include "rates/synthetic_study.hpp"
#include "support/expect_invalid.hpp"
#include "support/test_util.hpp"

namespace moelab {
namespace {

using testing::ReadTextFile;
using testing::ThrowsInvalidArgument;

const std::vector<CellKey> kCells = MakeCells({100, 200, 400}, 4, 5);

CellRecord Cell(const CellKey& key) {
  CellRecord r;
  r.status = "converged";
  r.values = testing::SyntheticValues(key);
  return r;
}

std::string CleanCsv(const std::string& base) {
  return ReadTextFile(RunCells(kCells, Cell, testing::SyntheticOptions(base + "/clean", 1)).cells_csv);
}

TEST(StudyFolderGuardTest, AConcurrentRunIntoTheSameFolderIsRefused) {
  const std::string dir = testing::MakeTempDir("moelab_concurrent") + "/study";
  const FolderLock running(dir);  // what the first run holds while it runs
  int calls = 0;
  EXPECT_TRUE(ThrowsInvalidArgument(
      [&] { RunCells(kCells, [&](const CellKey& k) { ++calls; return Cell(k); }, testing::SyntheticOptions(dir, 1)); },
      {"in use by another run"}));
  EXPECT_EQ(calls, 0);
}

TEST(StudyFolderGuardTest, EditedAndCorruptedRowsAreRecomputedNeverUsed) {
  const std::string base = testing::MakeTempDir("moelab_checksum");
  const std::string dir = base + "/edited";
  RunCells(kCells, Cell, testing::SyntheticOptions(dir, 1));
  const std::string log = dir + "/cells.log";
  std::string text = ReadTextFile(log);
  // Hand-edit the loss of the second row; flip a byte in the third.
  std::size_t row2 = text.find('\n', text.find('\n') + 1) + 1;
  const std::size_t comma = text.find(',', text.find(',', text.find(',', text.find(',', row2) + 1) + 1) + 1);
  text.replace(comma + 1, 1, text[comma + 1] == '9' ? "8" : "9");
  const std::size_t row3 = text.find('\n', row2) + 1;
  text[row3 + 1] = text[row3 + 1] == '0' ? '1' : '0';
  testing::WriteTextFile(log, text);

  std::vector<std::string> ignored;
  const auto rows = detail::ReadCellLog(log, testing::kSyntheticColumns, false, &ignored);
  EXPECT_EQ(rows.size(), kCells.size() - 2);
  ASSERT_EQ(ignored.size(), 2u);
  EXPECT_NE(ignored[0].find("cells.log:3: row checksum does not match"), std::string::npos) << ignored[0];

  int calls = 0;
  const CellRunSummary again =
      RunCells(kCells, [&](const CellKey& k) { ++calls; return Cell(k); }, testing::SyntheticOptions(dir, 1));
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(again.resumed, static_cast<int>(kCells.size()) - 2);
  EXPECT_EQ(ReadTextFile(again.cells_csv), CleanCsv(base));
}

TEST(StudyFolderGuardTest, ConflictingDuplicateRowsAreRefused) {
  const std::string dir = testing::MakeTempDir("moelab_conflict");
  RunCells(kCells, Cell, testing::SyntheticOptions(dir, 1));
  // A second, validly checksummed row for the first cell with another loss.
  CellRecord other = Cell(kCells[0]);
  other.key = kCells[0];
  other.values[0] += 1.0;
  {
    std::ofstream log(dir + "/cells.log", std::ios::app);
    log << detail::CellRowLine(other, true) << "\n";
  }
  EXPECT_TRUE(ThrowsInvalidArgument([&] { RunCells(kCells, Cell, testing::SyntheticOptions(dir, 1)); },
                                    {"cells.log:" + std::to_string(kCells.size() + 2), "different result"}));
  // The same result twice (a kill after the write, then a rerun) is fine.
  CellRecord same = Cell(kCells[1]);
  same.key = kCells[1];
  same.seconds = 123.0;  // wall times differ between runs
  const std::string dir2 = testing::MakeTempDir("moelab_duplicate");
  RunCells(kCells, Cell, testing::SyntheticOptions(dir2, 1));
  {
    std::ofstream log(dir2 + "/cells.log", std::ios::app);
    log << detail::CellRowLine(same, true) << "\n";
  }
  EXPECT_NO_THROW(RunCells(kCells, Cell, testing::SyntheticOptions(dir2, 1)));
}

TEST(StudyFolderGuardTest, LogsWithoutChecksumsAreRefusedClearly) {
  const std::string dir = testing::MakeTempDir("moelab_legacy");
  RunCells(kCells, Cell, testing::SyntheticOptions(dir, 1));
  // The format before checksums: no checksum column.
  const std::string header = detail::CellHeaderLine(testing::kSyntheticColumns, true);
  testing::WriteTextFile(dir + "/cells.log", header.substr(0, header.rfind(',')) + "\n");
  EXPECT_TRUE(ThrowsInvalidArgument([&] { RunCells(kCells, Cell, testing::SyntheticOptions(dir, 1)); },
                                    {"no row checksums", "move it away"}));
}

// Issue 14: softmax-exact --n-max 1e12 left a folder that refused the
// corrected run. A folder without a finished cell holds nothing to protect.
TEST(StudyFolderGuardTest, AFolderWithoutFinishedCellsDoesNotBlockAnotherStudy) {
  const std::string base = testing::MakeTempDir("moelab_reclaim");
  const std::string dir = base + "/study";
  CellRunnerOptions first = testing::SyntheticOptions(dir, 1);
  first.stop_after = 0;  // writes study.json and the log header, no cell
  RunCells(kCells, Cell, first);
  CellRunnerOptions corrected = testing::SyntheticOptions(dir, 1);
  corrected.identity = "{\n  \"study\": \"synthetic\",\n  \"seed\": 6\n}";
  EXPECT_NO_THROW(CheckStudyFolder(dir, corrected.identity));
  EXPECT_TRUE(RunCells(kCells, Cell, corrected).complete);
  // With finished cells the folder is protected again.
  EXPECT_TRUE(ThrowsInvalidArgument([&] { RunCells(kCells, Cell, first); }, {"holds a different study"}));
}

// Fault injection: a file-size limit (RLIMIT_FSIZE) makes the writes fail
// part-way, as a full disk does (EFBIG instead of ENOSPC; no root or mount
// needed). The run must report the failed write, and a later run must resume
// to the clean result.
TEST(StudyFolderGuardTest, AFailedWriteIsReportedAndTheStudyResumes) {
  const std::string base = testing::MakeTempDir("moelab_full_disk");
  const std::string dir = base + "/full";
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(pipe_fds[0]);
    ::signal(SIGXFSZ, SIG_IGN);  // get EFBIG from write(2) instead of a signal
    const rlimit limit{700, 700};  // a few rows of cells.log
    ::setrlimit(RLIMIT_FSIZE, &limit);
    std::string message = "no error";
    try {
      RunCells(kCells, Cell, testing::SyntheticOptions(dir, 1));
    } catch (const std::exception& e) {
      message = e.what();
    }
    const ssize_t written = ::write(pipe_fds[1], message.data(), message.size());
    (void)written;
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  std::string message;
  char buffer[512];
  for (ssize_t got; (got = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0;) message.append(buffer, got);
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_NE(message.find("failed"), std::string::npos) << message;
  EXPECT_NE(message.find(dir), std::string::npos) << message;
  EXPECT_FALSE(std::filesystem::exists(dir + "/cells.csv"));
  const CellRunSummary resumed = RunCells(kCells, Cell, testing::SyntheticOptions(dir, 1));
  EXPECT_GT(resumed.resumed, 0);
  EXPECT_LT(resumed.resumed, static_cast<int>(kCells.size()));
  EXPECT_EQ(ReadTextFile(resumed.cells_csv), CleanCsv(base));
}

}  // namespace
}  // namespace moelab
