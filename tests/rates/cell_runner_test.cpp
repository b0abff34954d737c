#include "moelab/rates/cell_runner.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "moelab/core/rng.hpp"
#include "rates/synthetic_study.hpp"
#include "support/expect_invalid.hpp"
#include "support/test_util.hpp"

namespace moelab {
namespace {

using testing::ReadTextFile;
using testing::ThrowsInvalidArgument;

int CountLines(const std::string& path) {
  const std::string text = ReadTextFile(path);
  return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

// A synthetic cell: numbers drawn from the cell's own seed only, plus a
// sleep whose length depends on the seed so that with several threads the
// cells finish (and are logged) in a scrambled order.
CellRecord SyntheticCell(const CellKey& key, int sleep_ms) {
  CellRecord r;
  r.status = key.replication % 3 == 0 ? "converged" : "max, iterations";  // comma is sanitised
  r.values = testing::SyntheticValues(key);
  if (sleep_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms + key.seed % 3));
  return r;
}

CellRunnerOptions Options(const std::string& dir, int threads) {
  return testing::SyntheticOptions(dir, threads);
}

const std::vector<CellKey> kCells = MakeCells({100, 200, 400, 800}, 6, 5);

TEST(CellSeedTest, FollowsTheDocumentedRule) {
  EXPECT_EQ(CellSeed(2023, 1000, 7), DeriveSeed(2023, 1000, 7));
  const auto cells = MakeCells({300, 100}, 2, 11);
  ASSERT_EQ(cells.size(), 4u);
  EXPECT_EQ(cells[0].n, 100);
  EXPECT_EQ(cells[1].replication, 1);
  EXPECT_EQ(cells[3].n, 300);
  EXPECT_EQ(cells[3].seed, DeriveSeed(11, 300, 1));
}

TEST(CellRunnerTest, OneAndTwoThreadsGiveByteIdenticalCsv) {
  const std::string base = testing::MakeTempDir("moelab_runner_threads");
  const auto fn = [](const CellKey& k) { return SyntheticCell(k, 1); };
  const CellRunSummary one = RunCells(kCells, fn, Options(base + "/one", 1));
  const CellRunSummary two = RunCells(kCells, fn, Options(base + "/two", 2));
  const CellRunSummary four = RunCells(kCells, fn, Options(base + "/four", 4));
  ASSERT_TRUE(one.complete && two.complete && four.complete);
  EXPECT_EQ(one.computed, 24);
  const std::string csv = ReadTextFile(one.cells_csv);
  EXPECT_EQ(csv, ReadTextFile(two.cells_csv));
  EXPECT_EQ(csv, ReadTextFile(four.cells_csv));
  // Sorted by (n, replication), no wall times, %.17g numbers, NaN as "nan".
  const auto records = ReadCellRecords(one.cells_csv, testing::kSyntheticColumns);
  ASSERT_EQ(records.size(), 24u);
  for (std::size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(records[i].key.n, kCells[i].n);
    EXPECT_EQ(records[i].key.replication, kCells[i].replication);
    const CellRecord expected = SyntheticCell(kCells[i], 0);
    EXPECT_EQ(records[i].values[0], expected.values[0]);  // round trip is exact
  }
  EXPECT_EQ(csv.find("seconds"), std::string::npos);
  EXPECT_NE(csv.find(",nan"), std::string::npos);
  EXPECT_NE(csv.find("max; iterations"), std::string::npos);
  EXPECT_NE(ReadTextFile(base + "/two/timings.csv").find("n,replication,seconds"), std::string::npos);
}

TEST(CellRunnerTest, InterruptedRunResumesToTheSameCsv) {
  const std::string base = testing::MakeTempDir("moelab_runner_resume");
  const auto fn = [](const CellKey& k) { return SyntheticCell(k, 0); };
  const CellRunSummary full = RunCells(kCells, fn, Options(base + "/full", 2));

  CellRunnerOptions o = Options(base + "/part", 2);
  o.stop_after = 7;
  const CellRunSummary first = RunCells(kCells, fn, o);
  EXPECT_FALSE(first.complete);
  EXPECT_EQ(first.computed, 7);
  EXPECT_FALSE(std::filesystem::exists(base + "/part/cells.csv"));
  // Simulate a kill in the middle of a write: a truncated last line.
  {
    std::ofstream log(base + "/part/cells.log", std::ios::app);
    log << "800,5," << kCells.back().seed << ",conv";
  }
  o.stop_after = -1;
  int calls = 0;
  const CellRunSummary second = RunCells(kCells, [&](const CellKey& k) {
    ++calls;  // single thread below, so no race
    return fn(k);
  }, [&] { auto p = o; p.num_threads = 1; return p; }());
  EXPECT_TRUE(second.complete);
  EXPECT_EQ(second.resumed, 7);
  EXPECT_EQ(calls, 17);
  EXPECT_EQ(ReadTextFile(second.cells_csv), ReadTextFile(full.cells_csv));
  // A third run finds everything done and rewrites the same file.
  const CellRunSummary third = RunCells(kCells, fn, o);
  EXPECT_EQ(third.computed, 0);
  EXPECT_EQ(ReadTextFile(third.cells_csv), ReadTextFile(full.cells_csv));
}

// The real thing: a child process runs the study and is killed with SIGKILL
// after a few cells have been logged; the parent resumes it.
TEST(CellRunnerTest, KilledProcessResumesToTheSameCsv) {
  const std::string base = testing::MakeTempDir("moelab_runner_kill");
  const auto fn = [](const CellKey& k) { return SyntheticCell(k, 15); };
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    RunCells(kCells, fn, Options(base + "/killed", 2));
    _exit(0);
  }
  const std::string log = base + "/killed/cells.log";
  for (int i = 0; i < 5000; ++i) {  // wait (at most ~5 s) for 6 rows + header
    if (std::filesystem::exists(log) && CountLines(log) >= 7) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  const CellRunSummary resumed = RunCells(kCells, fn, Options(base + "/killed", 2));
  EXPECT_GE(resumed.resumed, 6);
  EXPECT_LT(resumed.resumed, 24);  // it really was interrupted (24 cells x 15 ms / 2 threads)
  const CellRunSummary clean = RunCells(kCells, fn, Options(base + "/clean", 1));
  EXPECT_EQ(ReadTextFile(resumed.cells_csv), ReadTextFile(clean.cells_csv));
}

TEST(CellRunnerTest, RefusesAFolderHoldingADifferentStudy) {
  const std::string dir = testing::MakeTempDir("moelab_runner_other");
  const auto fn = [](const CellKey& k) { return SyntheticCell(k, 0); };
  RunCells(kCells, fn, Options(dir, 1));
  CellRunnerOptions other = Options(dir, 1);
  other.identity = "{\n  \"study\": \"synthetic\",\n  \"seed\": 6\n}";
  int calls = 0;
  EXPECT_TRUE(ThrowsInvalidArgument(
      [&] { RunCells(kCells, [&](const CellKey& k) { ++calls; return fn(k); }, other); },
      {"holds a different study", "line 3", "\"seed\": 5", "\"seed\": 6"}));
  EXPECT_EQ(calls, 0);
  // Same identity but other value columns: the log header disagrees.
  CellRunnerOptions columns = Options(dir, 1);
  columns.value_columns = {"loss", "u"};
  EXPECT_TRUE(ThrowsInvalidArgument([&] { RunCells(kCells, fn, columns); }, {"header"}));
}

TEST(CellRunnerTest, ACellFunctionErrorStopsTheRunAndIsRethrown) {
  const std::string dir = testing::MakeTempDir("moelab_runner_error");
  EXPECT_THROW(RunCells(kCells, [](const CellKey& k) -> CellRecord {
    if (k.n == 400) throw std::runtime_error("boom");
    return SyntheticCell(k, 0);
  }, Options(dir, 2)), std::runtime_error);
  EXPECT_FALSE(std::filesystem::exists(dir + "/cells.csv"));
  // Wrong number of values is a programming error, reported the same way.
  EXPECT_THROW(RunCells(kCells, [](const CellKey&) { return CellRecord{}; },
                        Options(testing::MakeTempDir("moelab_runner_error2"), 1)),
               std::logic_error);
}

TEST(CellRunnerTest, RejectsBadOptionsBeforeAnyWork) {
  const auto fn = [](const CellKey& k) { return SyntheticCell(k, 0); };
  CellRunnerOptions o = Options("", 1);
  EXPECT_TRUE(ThrowsInvalidArgument([&] { RunCells(kCells, fn, o); }, {"out_dir"}));
  o = Options(testing::MakeTempDir("moelab_runner_bad"), 1);
  o.value_columns = {"loss", "loss"};
  EXPECT_TRUE(ThrowsInvalidArgument([&] { RunCells(kCells, fn, o); }, {"duplicate"}));
  o.value_columns = {"seed"};
  EXPECT_TRUE(ThrowsInvalidArgument([&] { RunCells(kCells, fn, o); }, {"reserved"}));
  o = Options(testing::MakeTempDir("moelab_runner_bad2"), 1);
  std::vector<CellKey> twice = {kCells[0], kCells[0]};
  EXPECT_TRUE(ThrowsInvalidArgument([&] { RunCells(twice, fn, o); }, {"duplicate cell"}));
  EXPECT_TRUE(ThrowsInvalidArgument([&] { RunCells({}, fn, o); }, {"no cells"}));
  EXPECT_TRUE(ThrowsInvalidArgument([&] { MakeCells({10}, 0, 1); }, {"replications"}));
}

}  // namespace
}  // namespace moelab
